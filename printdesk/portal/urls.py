"""The customer's pages at the site root: no account, the private link is the key."""

from django.urls import path

from printdesk.portal import lost_link, request_form, status

app_name = "portal"

urlpatterns = [
    path("", request_form.request_form, name="request"),
    path("request/received/", request_form.received, name="received"),
    path("lost-link/", lost_link.lost_link, name="lost_link"),
    path("j/<str:secret>/", status.status, name="status"),
    path("j/<str:secret>/files/<int:version_id>/", status.download, name="download"),
    path(
        "j/<str:secret>/files/<int:version_id>/preview.png",
        status.file_preview,
        name="file_preview",
    ),
    path(
        "j/<str:secret>/files/<int:version_id>/thumbnail.png",
        status.file_thumbnail,
        name="file_thumbnail",
    ),
    path("j/<str:secret>/files/<int:version_id>/mesh.bin", status.file_mesh, name="file_mesh"),
    path("j/<str:secret>/accept/", status.accept, name="accept"),
    path("j/<str:secret>/decline/", status.decline, name="decline"),
    path("j/<str:secret>/cancel/", status.cancel, name="cancel"),
    path("j/<str:secret>/revise/", status.revise, name="revise"),
]
