"""Pages that carry a private job link: kept out of caches, referrers and search engines."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponseBase

PRIVATE_HEADERS = {
    # The link is the key to the job: it must not leak to the sites a page links to...
    "Referrer-Policy": "no-referrer",
    # ...nor stay in a shared computer's cache or a proxy's...
    "Cache-Control": "no-store",
    # ...nor end up in a search index if someone posts it somewhere.
    "X-Robots-Tag": "noindex",
}


def private_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Send PRIVATE_HEADERS with every response of `view`, errors and redirects included."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        for name, value in PRIVATE_HEADERS.items():
            response[name] = value
        return response

    return wrapper
