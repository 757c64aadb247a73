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
    # Prices in the bureau's currency, for estimates (files/advice.py): per part, volume x
    # price_per_cm3 plus grams (volume x density) x price_per_gram; setup_fee once per job and
    # material; never less than minimum_charge. 0 = not used. A quote still says the price.
    price_per_cm3 = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(0), validators=[NOT_NEGATIVE]
    )
    price_per_gram = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal(0),
        # Also a database default: the release before these columns, still serving while the
        # migration runs, inserts rows without them (docs/operations.md, "Upgrades").
        db_default=Decimal(0),
        validators=[NOT_NEGATIVE],
        help_text="0 = not used.",
    )
    density_g_cm3 = models.DecimalField(
        "density (g/cm³)",
        max_digits=6,
        decimal_places=3,
        default=Decimal(0),
        db_default=Decimal(0),  # as price_per_gram's
        validators=[NOT_NEGATIVE],
        help_text="For the material's weight; 0 = not known.",
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
    # For print-time estimates: the volume of parts it prints per hour. 0 = not known.
    throughput_cm3_h = models.DecimalField(
        "throughput (cm³/h)",
        max_digits=8,
        decimal_places=2,
        default=Decimal(0),
        db_default=Decimal(0),  # as Material.price_per_gram's
        validators=[NOT_NEGATIVE],
        help_text="Part volume printed per hour; 0 = not known.",
    )
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
