"""The job page's forms: they parse what the operator typed; the actions decide.

Every form but VersionForm has a prefix, so the many forms of one page never share an id, and
each POST carries the job version the page showed as a plain `expected_version` field.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from printdesk.catalogue.models import Material, Printer
from printdesk.files.models import JobFile
from printdesk.jobs.actions import MAX_QUANTITY, MAX_REASON, QuoteLineInput
from printdesk.jobs.models import DispatchMethod, Job, RunState
from printdesk.uploads.actions import UPLOAD_GONE

SPARE_ROWS = 2  # blank rows offered without JavaScript; ignored when left empty
Choices = list[tuple[int | str, str]]


class VersionForm(forms.Form):
    """The job version the page showed: every action form carries it."""

    expected_version = forms.IntegerField(min_value=1)


class QuoteVersionForm(forms.Form):
    quote_version = forms.IntegerField(min_value=1)


class ScaleForm(forms.Form):
    """The scale an operator gives a file drawn in other units (x25.4 for inches)."""

    scale = forms.DecimalField(
        min_value=Decimal("0.0001"), max_value=Decimal(100_000), max_digits=10, decimal_places=4
    )


class RunMoveForm(forms.Form):
    state = forms.ChoiceField(choices=RunState.choices)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=MAX_REASON)

    def __init__(self, *args, label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only the bureau's staff see notes.",
    )


class DispatchForm(forms.Form):
    method = forms.ChoiceField(
        label="How the parts leave",
        choices=[
            (DispatchMethod.CARRIER, "Post or courier"),
            (DispatchMethod.HAND_OVER, "Hand over in person"),
        ],
        initial=DispatchMethod.CARRIER,
        widget=forms.RadioSelect,
    )
    carrier = forms.CharField(
        label="Carrier", max_length=100, required=False, help_text="For example DHL or UPS."
    )
    tracking_number = forms.CharField(label="Tracking number", max_length=100, required=False)


class RevisionForm(forms.Form):
    # The file itself (the plain form), or the id of the operator's finished resumable upload
    # (uploader.js sends the bytes by tus first, so no proxy limit on form bodies applies).
    file = forms.FileField(
        label="Revised file",
        help_text="STL, 3MF, OBJ or STEP.",
        error_messages={"required": "Choose the revised file."},
        widget=forms.ClearableFileInput(attrs={"data-upload-input": ""}),
    )
    upload_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    file_id = forms.TypedChoiceField(label="Replaces", coerce=int, empty_value=None, required=False)

    def __init__(self, *args, files_of_job: Sequence[JobFile], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices: Choices = [(f.pk, f"a new version of {f.name}") for f in files_of_job]
        cast(forms.ChoiceField, self.fields["file_id"]).choices = [
            *choices,
            ("", "nothing: it is an extra file"),
        ]
        if self.data.get(self.add_prefix("upload_id")):
            self.fields["file"].required = False  # the uploader sent the bytes already

    def clean(self) -> dict:
        data = super().clean() or {}
        if self.errors.pop("upload_id", None):  # hidden: said beside the file instead
            self.add_error("file", UPLOAD_GONE)
        return data


# --- the quote composer -----------------------------------------------------------------------


class QuoteTermsForm(forms.Form):
    currency = forms.CharField(label="Currency", max_length=3, min_length=3)
    lead_time_days = forms.IntegerField(label="Lead time (days)", min_value=0, max_value=365)
    valid_until = forms.DateField(
        label="Valid until", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    message = forms.CharField(
        label="Message to the customer",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_valid_until(self) -> date:
        valid_until = self.cleaned_data["valid_until"]
        if valid_until < timezone.localdate():
            raise forms.ValidationError("The quote would already have expired.")
        return valid_until


class QuoteLineForm(forms.Form):
    description = forms.CharField(label="Description", max_length=200)
    material = forms.TypedChoiceField(label="Material", coerce=int)
    colour = forms.CharField(label="Colour", max_length=50, required=False)
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_QUANTITY)
    unit_price = forms.DecimalField(
        label="Unit price", min_value=Decimal(0), max_digits=10, decimal_places=2
    )
    file_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, materials: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["material"]).choices = [
            ("", "Choose a material"),
            *materials,
        ]
        self.fields["colour"].widget.attrs["list"] = "known-colours"

    def has_changed(self) -> bool:
        """A line counts once it has a description or a price: spare lines come with the
        job's material, colour and a quantity already filled in, and are ignored until then."""
        typed = (self.data.get(self.add_prefix(name), "") for name in ("description", "unit_price"))
        return any(value.strip() for value in typed) or bool(
            self.data.get(self.add_prefix("DELETE"))
        )


class BaseRowFormSet(BaseFormSet):
    """Every row may stay blank: a prefilled row the operator empties is simply dropped."""

    def initial_form_count(self) -> int:
        return 0 if self.is_bound else super().initial_form_count()


class BaseQuoteLineFormSet(BaseRowFormSet):
    def __init__(self, *args, spare: dict | None = None, **kwargs) -> None:
        self.spare = spare or {}
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict:
        kwargs = super().get_form_kwargs(index)
        if index is None:  # the row the page's script adds: a spare line
            kwargs["initial"] = self.spare
        return kwargs

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove this line"


# Spare lines are part of the initial data (see QuoteComposer.fresh), so no extra forms here.
QuoteLineFormSet = formset_factory(
    QuoteLineForm, formset=BaseQuoteLineFormSet, extra=0, can_delete=True
)


@dataclass(frozen=True)
class PreviewLine:
    description: str
    material: str
    colour: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class QuotePreview:
    """What the customer would see, built from the composer without saving anything."""

    lines: list[PreviewLine]
    currency: str
    total: Decimal
    lead_time_days: int
    valid_until: date
    message: str


class QuoteComposer:
    """The quote's terms and its lines, validated together."""

    def __init__(self, terms: QuoteTermsForm, lines, material_names: dict[int, str]) -> None:
        self.terms = terms
        self.lines = lines
        self.material_names = material_names
        self.lines_error = ""

    @classmethod
    def fresh(cls, job: Job, materials: Sequence[Material], currency: str) -> "QuoteComposer":
        """One line per file at the job's material, colour and quantity; the price is left out."""
        spare = {"material": job.material_id, "colour": job.colour, "quantity": 1}
        per_file = [
            {**spare, "description": f.name, "quantity": job.quantity, "file_id": f.pk}
            for f in job.files.all()
        ]
        today = timezone.localdate()
        terms = QuoteTermsForm(
            prefix="quote",
            initial={"currency": currency, "valid_until": today + timedelta(days=14)},
        )
        lines = _lines(materials, initial=per_file + [spare] * SPARE_ROWS, spare=spare)
        return cls(terms, lines, _names(materials))

    @classmethod
    def bound(cls, data, materials: Sequence[Material]) -> "QuoteComposer":
        terms = QuoteTermsForm(data, prefix="quote")
        return cls(terms, _lines(materials, data=data), _names(materials))

    def is_valid(self) -> bool:
        terms_valid = self.terms.is_valid()
        return self.lines.is_valid() and terms_valid

    def filled(self) -> list[forms.Form]:
        """Lines the operator kept: not blank, not marked for removal."""
        return [
            form
            for form in self.lines.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE")
        ]

    def line_inputs(self) -> list[QuoteLineInput]:
        return [
            QuoteLineInput(
                description=form.cleaned_data["description"],
                material_id=form.cleaned_data["material"],
                colour=form.cleaned_data["colour"],
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data["unit_price"],
                job_file_id=form.cleaned_data["file_id"],
            )
            for form in self.filled()
        ]

    def send_arguments(self) -> dict:
        """Keyword arguments for actions.send_quote."""
        terms = self.terms.cleaned_data
        return {
            "lines": self.line_inputs(),
            "currency": terms["currency"],
            "lead_time_days": terms["lead_time_days"],
            "valid_until": terms["valid_until"],
            "message": terms["message"],
        }

    def preview(self) -> QuotePreview:
        lines = [
            PreviewLine(
                description=line.description.strip(),
                material=self.material_names.get(line.material_id, ""),
                colour=line.colour,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.unit_price * line.quantity,
            )
            for line in self.line_inputs()
        ]
        terms = self.terms.cleaned_data
        return QuotePreview(
            lines=lines,
            currency=terms["currency"].strip().upper(),
            total=sum((line.line_total for line in lines), Decimal(0)),
            lead_time_days=terms["lead_time_days"],
            valid_until=terms["valid_until"],
            message=terms["message"],
        )

    def add_error(self, field: str | None, message: str) -> None:
        """An action's refusal, shown beside the input it names."""
        if field in self.terms.fields:
            self.terms.add_error(field, message)
        else:
            self.lines_error = message


def _names(materials: Sequence[Material]) -> dict[int, str]:
    return {m.pk: m.name for m in materials}


def _lines(materials: Sequence[Material], **kwargs):
    choices: Choices = [(m.pk, m.name) for m in materials]
    return QuoteLineFormSet(prefix="lines", form_kwargs={"materials": choices}, **kwargs)


# --- print runs -------------------------------------------------------------------------------


class RunRowForm(forms.Form):
    printer = forms.TypedChoiceField(label="Printer", coerce=int, empty_value=None, required=False)
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_QUANTITY)

    def __init__(self, *args, printers: Choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["printer"]).choices = [
            ("", "No printer yet"),
            *printers,
        ]


RunRowFormSet = formset_factory(RunRowForm, formset=BaseRowFormSet, extra=SPARE_ROWS)


def run_rows(printers: Sequence[Printer], owed: int, data=None):
    """Rows of (printer, quantity); unbound, the first row offers what is still owed."""
    choices: Choices = [(p.pk, p.name) for p in printers]
    kwargs: dict = {"prefix": "runs", "form_kwargs": {"printers": choices}}
    if data is not None:
        return RunRowFormSet(data, **kwargs)
    return RunRowFormSet(initial=[{"quantity": owed}] if owed > 0 else [], **kwargs)


def filled_rows(formset) -> list[forms.Form]:
    return [form for form in formset.forms if form.has_changed()]
