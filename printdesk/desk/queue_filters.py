"""Reading the queue's filters from a URL: what the page shows, the CSV exports and every link
(tabs, pages, sort headers) carries on.

A value the form cannot read (a date like "last tuesday", a material that does not exist, a
junk sort) is left out and the page says so; it never fails the request.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from django import forms
from django.utils.http import urlencode

from printdesk.catalogue.models import Material, Printer
from printdesk.jobs.lifecycle import OPEN_STATES, JobState
from printdesk.jobs.search import DEFAULT_SORT, JobSearch, is_sort

ACTIVE, ALL = "active", "all"
# The tabs, in the order of the lifecycle: the open jobs first (the default), then each state.
TABS: list[tuple[str, str]] = [(ACTIVE, "Active"), *JobState.choices, (ALL, "All")]

SORTS: list[tuple[str, str]] = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("state_changed", "Waiting longest in their state"),
    ("-state_changed", "Most recently moved"),
    ("desired", "Desired date, soonest first"),
    ("-desired", "Desired date, latest first"),
    ("-updated", "Recently updated"),
    ("updated", "Least recently updated"),
    ("-reference", "Reference, highest first"),
    ("reference", "Reference, lowest first"),
]
assert all(is_sort(key) for key, _ in SORTS)


# Every parameter a queue URL may carry, in the order links write them.
PARAM_ORDER = ("state", "q", "created_from", "created_to", "material", "printer", "sort", "page")


def tab_states(tab: str) -> frozenset[str]:
    """The states a tab lists; "all" lists every state."""
    if tab == ACTIVE:
        return frozenset(OPEN_STATES)
    if tab == ALL:
        return frozenset(JobState.values)
    return frozenset({tab})


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(choices=TABS, required=False, widget=forms.HiddenInput)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Reference, customer, company, email or notes.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    created_from = forms.DateField(
        label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    material = forms.TypedChoiceField(
        label="Material", required=False, coerce=int, empty_value=None
    )
    printer = forms.TypedChoiceField(
        label="Printer",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="Jobs with a print run on it.",
    )
    sort = forms.ChoiceField(label="Sort by", choices=SORTS, required=False)

    def __init__(self, data, *, materials: Iterable[Material], printers: Iterable[Printer]) -> None:
        super().__init__(data)
        # Choices from rows the page already loaded: checking a value costs no query.
        material_field = self.fields["material"]
        printer_field = self.fields["printer"]
        assert isinstance(material_field, forms.TypedChoiceField)
        assert isinstance(printer_field, forms.TypedChoiceField)
        material_field.choices = [("", "Any material"), *((m.pk, m.name) for m in materials)]
        printer_field.choices = [("", "Any printer"), *((p.pk, p.name) for p in printers)]


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as read from the URL, with what could not be read left out."""

    form: QueueFilterForm
    tab: str
    sort: str
    page: int
    search: JobSearch  # every filter but the tab: the tab counts share it
    params: dict[str, str]  # the filters that were understood, to carry on in links

    @property
    def states(self) -> frozenset[str]:
        return tab_states(self.tab)

    @property
    def listed(self) -> JobSearch:
        """The search for the jobs the page lists: the filters within the tab's states."""
        return replace(self.search, states=self.states)

    @property
    def is_filtered(self) -> bool:
        return self.search != JobSearch()

    @property
    def problems(self) -> list[str]:
        return [
            f"{self.form.fields[name].label or name}: {' '.join(str(error) for error in errors)}"
            for name, errors in self.form.errors.items()
        ]

    def url(self, **changes: str | int | None) -> str:
        """A query string with the same filters and some changed; None removes one."""
        merged: dict[str, str | int | None] = {**self.params, **changes}
        params: dict[str, str | int] = {}
        for key in PARAM_ORDER:
            value = merged.get(key)
            if value is not None:
                params[key] = value
        return "?" + urlencode(params) if params else "?"


def _page(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def read(data, *, materials: Iterable[Material], printers: Iterable[Printer]) -> QueueQuery:
    form = QueueFilterForm(data, materials=materials, printers=printers)
    form.is_valid()
    # cleaned_data holds every field that did validate, even when another did not.
    clean = form.cleaned_data
    tab = clean.get("state") or ACTIVE
    sort = clean.get("sort") or DEFAULT_SORT
    created_from: date | None = clean.get("created_from")
    created_to: date | None = clean.get("created_to")
    material: int | None = clean.get("material")
    printer: int | None = clean.get("printer")
    text: str = (clean.get("q") or "").strip()
    criteria = JobSearch(
        created_from=created_from,
        created_to=created_to,
        material=material,
        printer=printer,
        text=text,
    )
    params = {
        "state": tab if tab != ACTIVE else "",
        "q": text,
        "created_from": created_from.isoformat() if created_from else "",
        "created_to": created_to.isoformat() if created_to else "",
        "material": str(material) if material is not None else "",
        "printer": str(printer) if printer is not None else "",
        "sort": sort if sort != DEFAULT_SORT else "",
    }
    return QueueQuery(
        form=form,
        tab=tab,
        sort=sort,
        page=_page(data.get("page")),
        search=criteria,
        params={key: value for key, value in params.items() if value},
    )
