"""What the bureau offers: materials (with their colours) and the printers it runs."""

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

NOT_NEGATIVE = MinValueValidator(Decimal(0), "Enter zero or more.")
AT_LEAST_1_MM = MinValueValidator(1, "Enter at least 1 mm.")
CURRENCY_CODE = RegexValidator(
    r"^[A-Z]{3}\Z", "Enter a three-letter currency code in capitals, such as EUR or USD."
)


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
    # Prices in the bureau's currency, for estimates: volume x price_per_cm3 + setup_fee,
    # never less than minimum_charge. A quote still says the final price.
    price_per_cm3 = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(0), validators=[NOT_NEGATIVE]
    )
    setup_fee = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal(0), validators=[NOT_NEGATIVE]
    )
    minimum_charge = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal(0), validators=[NOT_NEGATIVE]
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Printer(models.Model):
    name = models.CharField(max_length=100, unique=True)
    process = models.CharField(max_length=10, choices=Process.choices)
    build_x_mm = models.PositiveIntegerField(validators=[AT_LEAST_1_MM])
    build_y_mm = models.PositiveIntegerField(validators=[AT_LEAST_1_MM])
    build_z_mm = models.PositiveIntegerField(validators=[AT_LEAST_1_MM])
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
    currency = models.CharField(
        max_length=3, default="EUR", validators=[CURRENCY_CODE], help_text="Three-letter code."
    )
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
