"""What the bureau offers: materials (with their colours) and the printers it runs."""

from django.db import models


class Process(models.TextChoices):
    FDM = "fdm", "FDM (filament)"
    SLA = "sla", "SLA (resin)"
    SLS = "sls", "SLS (powder)"


class Material(models.Model):
    name = models.CharField(max_length=100, unique=True)
    process = models.CharField(max_length=10, choices=Process.choices)
    description = models.CharField(max_length=200, blank=True)
    colours = models.JSONField(default=list, help_text="Colour names a customer can choose.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Printer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    process = models.CharField(max_length=10, choices=Process.choices)
    build_x_mm = models.PositiveIntegerField()
    build_y_mm = models.PositiveIntegerField()
    build_z_mm = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
