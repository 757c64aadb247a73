"""The project's URLs plus one trivial view: bench/pages.py's baseline.

It shows what the same gunicorn set-up serves when the view itself costs nothing (the
middleware stack, sessions and routing still run).
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from printdesk.urls import urlpatterns as project_urlpatterns


def baseline(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/baseline/", baseline), *project_urlpatterns]
