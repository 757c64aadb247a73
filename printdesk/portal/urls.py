"""The customer's pages at the site root: no account, the private link is the key."""

from django.urls import URLPattern

app_name = "portal"

urlpatterns: list[URLPattern] = []
