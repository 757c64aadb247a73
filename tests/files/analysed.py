"""File versions as the worker leaves them, for the page tests: analysed in this process.

`analysed(version)` measures the version's stored file with the real `mesh.analyse` and renders
its real preview (`preview.render_png`) and viewer mesh (`viewer_mesh.encode`), then records the
row exactly as the worker's outcome does (state, metrics, images, mesh). The worker's own path,
child process included, is tested in tests/files; here it would only add a second of start-up
per file.
"""

from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from printdesk.files import mesh, preview, viewer_mesh
from printdesk.files.models import Analysis, AnalysisState, FileVersion
from printdesk.files.storage import extension


def analysed(
    version: FileVersion, *, scale: Decimal | str = "1", stream_over_bytes: int = 200 * 1024**2
) -> Analysis:
    """The version's analysis, done, with its images; or failed with the mesh's reason.
    `stream_over_bytes` as the worker's setting: 0 makes every file a large one."""
    row = Analysis.objects.get(version=version)
    name = version.blob.name or ""
    path = version.blob.storage.path(name)
    try:
        measured = mesh.analyse(path, extension(name), stream_over_bytes=stream_over_bytes)
    except mesh.MeshError as error:
        return failed(version, str(error))
    png = preview.render_png(measured.preview)
    row.preview.save("preview.png", ContentFile(png), save=False)
    row.thumbnail.save("thumbnail.png", ContentFile(preview.thumbnail_png(png)), save=False)
    row.viewer_mesh.save("mesh.bin", ContentFile(viewer_mesh.encode(measured.preview)), save=False)
    row.state = AnalysisState.DONE
    for column, value in Analysis.columns(measured.report).items():
        setattr(row, column, value)
    row.scale = Decimal(scale)
    row.finished_at = timezone.now()
    row.save()
    return row


def failed(version: FileVersion, reason: str) -> Analysis:
    row = Analysis.objects.get(version=version)
    row.state, row.reason, row.finished_at = AnalysisState.FAILED, reason, timezone.now()
    row.save(update_fields=["state", "reason", "finished_at"])
    return row


def running(version: FileVersion) -> Analysis:
    row = Analysis.objects.get(version=version)
    row.state = AnalysisState.RUNNING
    row.save(update_fields=["state"])
    return row


def newest_version(job) -> FileVersion:
    """The newest version of the job's first file."""
    return FileVersion.objects.filter(job_file__job=job).order_by("job_file_id", "-number")[0]
