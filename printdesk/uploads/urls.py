"""Placeholder: the tus endpoints arrive with their views."""

from django.urls import URLPattern

app_name = "uploads"

urlpatterns: list[URLPattern] = []
