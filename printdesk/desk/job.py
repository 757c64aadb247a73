"""Placeholder: the job page arrives with its own work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from printdesk.desk.access import staff_required


@staff_required
def job_page(request: HttpRequest, reference: str) -> HttpResponse:
    return HttpResponse(reference)


urlpatterns = [path("jobs/<str:reference>/", job_page, name="job")]
