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


class Bureau(models.Model):
    """Who the bureau is: one row, edited by admins on the desk, shown on pages and emails."""

    SINGLETON = 1

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True, help_text="Postal address, shown in emails.")
    currency = models.CharField(max_length=3, default="EUR", help_text="Three-letter code.")
    reply_to = models.EmailField(blank=True, help_text="Where customers' replies should go.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "Bureau":
        """The bureau's row, created from the BUREAU_NAME setting the first time it is asked."""
        from django.conf import settings

        bureau, _ = cls.objects.get_or_create(
            pk=cls.SINGLETON, defaults={"name": settings.BUREAU_NAME}
        )
        return bureau
