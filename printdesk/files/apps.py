import logging
import os

from django.apps import AppConfig

log = logging.getLogger(__name__)


class FilesConfig(AppConfig):
    name = "printdesk.files"

    def ready(self) -> None:
        # Local-disk storage creates folders on first save; create the root now so a fresh
        # installation answers /healthz before its first upload. A bucket (S3) has no folders,
        # and nothing here may reach the network at startup.
        from django.core.files.storage import FileSystemStorage, storages

        storage = storages["default"]
        if not isinstance(storage, FileSystemStorage):
            return
        try:
            os.makedirs(storage.base_location, exist_ok=True)
        except OSError:
            log.exception("cannot create the file storage folder %s", storage.location)
