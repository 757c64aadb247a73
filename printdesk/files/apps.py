import logging
import os

from django.apps import AppConfig

log = logging.getLogger(__name__)


class FilesConfig(AppConfig):
    name = "printdesk.files"

    def ready(self) -> None:
        # Local-disk storage creates folders on first save; create the root now so a fresh
        # installation answers /healthz before its first upload.
        from django.core.files.storage import FileSystemStorage, default_storage

        if isinstance(default_storage, FileSystemStorage):
            try:
                os.makedirs(default_storage.base_location, exist_ok=True)
            except OSError:
                log.exception("cannot create the file storage folder %s", default_storage.location)
