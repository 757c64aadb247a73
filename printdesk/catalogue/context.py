"""Template context: every page may name the bureau."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from printdesk.catalogue.models import Bureau


def bureau(request: HttpRequest) -> dict:
    # Lazy: a page that never shows the bureau costs no query.
    return {"bureau": SimpleLazyObject(Bureau.current)}
