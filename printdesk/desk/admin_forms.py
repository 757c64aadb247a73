"""Forms of the desk's admin pages: they check input; printdesk.accounts.staff decides."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator

from printdesk.accounts.staff import Role
from printdesk.catalogue.models import Bureau, Material, Printer


class InviteForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What they type to log in: letters, digits and @ . + - _ only.",
    )
    name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(
        label="Email address",
        help_text="The invitation with a link to choose a password goes here.",
    )
    role = forms.ChoiceField(
        label="Role",
        choices=Role.choices,
        initial=Role.OPERATOR,
        help_text="Operators handle jobs; admins also manage staff, materials, printers and "
        "settings.",
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("Someone already has this username.")
        return username

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Someone already has an account with this email address.")
        return email


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class _UniqueNameForm(forms.ModelForm):
    """Names are unique whatever their case: "PLA" and "pla" would confuse customers."""

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = type(self.instance).objects.exclude(pk=self.instance.pk)
        if others.filter(name__iexact=name).exists():
            raise forms.ValidationError("This name is already taken.")
        return name


class MaterialForm(_UniqueNameForm):
    colours = forms.CharField(
        label="Colours",
        required=False,
        max_length=1000,
        help_text="Separate colours with commas, e.g. black, white, red.",
    )

    class Meta:
        model = Material
        fields = [
            "name",
            "process",
            "description",
            "colours",
            "price_per_cm3",
            "price_per_gram",
            "density_g_cm3",
            "setup_fee",
            "minimum_charge",
            "active",
        ]
        labels = {
            "description": "One-line description",
            "price_per_cm3": "Price per cm³",
            "price_per_gram": "Price per gram",
            "density_g_cm3": "Density (g/cm³)",
            "setup_fee": "Setup fee",
            "minimum_charge": "Minimum charge",
            "active": "Offered to customers",
        }
        help_texts = {
            "description": "Shown to customers beside the material on the request form.",
            "price_per_cm3": "Per cubic centimetre of part volume, for estimates; 0 = not used.",
            "price_per_gram": "Per gram of part weight (volume x density), for estimates; "
            "0 = not used.",
            "density_g_cm3": "For the part's weight; 0 = not known.",
            "setup_fee": "Added once per job, for estimates.",
            "minimum_charge": "No estimate is lower than this.",
            "active": "Untick to stop offering it; jobs that use it keep it.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["colours"] = ", ".join(self.instance.colours or [])
        currency = Bureau.current().currency
        for name in ("price_per_cm3", "price_per_gram", "setup_fee", "minimum_charge"):
            self.fields[name].label = f"{self.fields[name].label} ({currency})"

    def clean_colours(self) -> list[str]:
        colours: list[str] = []
        for part in self.cleaned_data["colours"].split(","):
            colour = " ".join(part.split())
            if colour and colour.lower() not in (c.lower() for c in colours):
                colours.append(colour)
        if any(len(colour) > 50 for colour in colours):
            raise forms.ValidationError("Keep each colour name under 50 characters.")
        return colours


def _build_size(axis: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=f"Build volume {axis} (mm)",
        min_value=1,
        max_value=100_000,
        error_messages={"min_value": "Enter at least 1 mm."},
    )


class PrinterForm(_UniqueNameForm):
    build_x_mm = _build_size("X")
    build_y_mm = _build_size("Y")
    build_z_mm = _build_size("Z")

    class Meta:
        model = Printer
        fields = [
            "name",
            "process",
            "build_x_mm",
            "build_y_mm",
            "build_z_mm",
            "throughput_cm3_h",
            "active",
        ]
        labels = {"throughput_cm3_h": "Throughput (cm³/h)", "active": "In service"}
        help_texts = {
            "throughput_cm3_h": "Part volume it prints per hour, for print-time estimates; "
            "0 = not known.",
            "active": "Untick to stop planning print runs on it; past runs keep it.",
        }


class BureauForm(forms.ModelForm):
    class Meta:
        model = Bureau
        fields = ["name", "address", "currency", "reply_to"]
        labels = {
            "name": "Business name",
            "address": "Address",
            "currency": "Currency",
            "reply_to": "Reply-to email address",
        }
        help_texts = {
            "name": "Heads every page and signs every email.",
            "address": "Postal address, printed at the foot of emails.",
            "currency": "Three-letter ISO 4217 code, e.g. EUR, GBP, USD. New quotes and "
            "material prices use it; quotes already sent keep theirs.",
            "reply_to": "Where replies to printdesk's emails go. Leave empty to use the "
            "sending address.",
        }
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()
