"""Placeholder: the queue arrives with its own issue work."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from printdesk.desk.access import staff_required


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    return HttpResponse("queue")


urlpatterns = [path("", queue, name="queue")]
