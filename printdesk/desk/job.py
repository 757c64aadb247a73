"""Placeholder: routes arrive with the views."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
