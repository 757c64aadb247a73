from django.urls import path

from printdesk.uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.collection, name="collection"),
    path("<uuid:upload_id>/", views.upload, name="upload"),
    path("<uuid:upload_id>/status", views.status, name="status"),
]
