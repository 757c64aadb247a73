"""Static files for production: whitenoise's hashed, compressed storage, readable before
`collectstatic` has run."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """`collectstatic` writes each file under a hashed name with a gzip copy, and a manifest
    that pages take their URLs from. Without a manifest (a server started before
    `collectstatic`) pages name the plain files instead of failing to render, and
    gunicorn.conf.py warns at startup that there is nothing to serve."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            return name
        return super().stored_name(name)
