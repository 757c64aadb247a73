"""A form field as the portal templates draw it: its value, its errors and the ids tying them.

The templates write their inputs by hand (labels, aria-describedby, the colour list grouped by
material); this gives them what each input needs in one place.
"""

from dataclasses import dataclass, field

from django import forms


@dataclass
class Field:
    name: str
    value: str = ""
    errors: list[str] = field(default_factory=list)
    help: str = ""
    prefix: str = "id"  # several forms on one page each name their own ids

    @property
    def id(self) -> str:
        return f"{self.prefix}_{self.name}"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def described_by(self) -> str:
        ids = [self.help_id] if self.help else []
        if self.errors:
            ids.append(self.error_id)
        return " ".join(ids)


def fields(
    form: forms.Form,
    names: tuple[str, ...],
    errors: dict[str, list[str]],
    helps: dict[str, str] | None = None,
    prefix: str = "id",
) -> dict[str, Field]:
    """Each named field with the value typed (or its initial value) and its errors."""
    result = {}
    for name in names:
        value = form[name].value() if name in form.fields else ""
        result[name] = Field(
            name=name,
            value="" if value is None else str(value),
            errors=errors.get(name, []),
            help=(helps or {}).get(name, ""),
            prefix=prefix,
        )
    return result


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}
