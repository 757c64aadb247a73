"""The customer's forms. They check the shape of the input; the actions decide the rest."""

from django import forms

from printdesk.jobs.actions import MAX_QUANTITY, MAX_REASON

# The fields the request form shares with `actions.submit_request`: an InvalidInput naming one
# of these is shown next to that field.
REQUEST_FIELDS = (
    "customer_name",
    "customer_email",
    "customer_phone",
    "customer_company",
    "material",
    "colour",
    "quantity",
    "desired_date",
    "notes",
)


class RequestForm(forms.Form):
    customer_name = forms.CharField(
        max_length=200, error_messages={"required": "Please tell us your name."}
    )
    customer_email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "We need an email address to send you the job link.",
            "invalid": "Please give a valid email address.",
        },
    )
    customer_phone = forms.CharField(max_length=50, required=False)
    customer_company = forms.CharField(max_length=200, required=False)
    material = forms.IntegerField(
        error_messages={"required": "Choose a material.", "invalid": "Choose a material."}
    )
    colour = forms.CharField(max_length=50, required=False)
    quantity = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUANTITY,
        error_messages={
            "required": "How many parts do you need?",
            "invalid": "Quantity must be a whole number.",
            "min_value": "Quantity must be at least 1.",
            "max_value": f"Quantity must be at most {MAX_QUANTITY}.",
        },
    )
    desired_date = forms.DateField(
        required=False, error_messages={"invalid": "Give the date as YYYY-MM-DD."}
    )
    notes = forms.CharField(max_length=5000, required=False)
    # The honeypot: hidden from people, filled in by form-filling bots.
    website = forms.CharField(required=False)
    # The token of the files already received (see files.storage.keep_draft).
    draft = forms.CharField(required=False, max_length=64)


class LostLinkForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter the email address you used for your request.",
            "invalid": "Please give a valid email address.",
        },
    )


class VersionForm(forms.Form):
    """The job version the page showed: an action on an older page is refused."""

    expected_version = forms.IntegerField(min_value=1)


class QuoteDecisionForm(VersionForm):
    quote_version = forms.IntegerField(min_value=1)


class ReasonField(forms.CharField):
    def __init__(self) -> None:
        super().__init__(
            max_length=MAX_REASON,
            error_messages={
                "required": "Please give a reason.",
                "max_length": f"Keep the reason under {MAX_REASON} characters.",
            },
        )


class DeclineQuoteForm(QuoteDecisionForm):
    reason = ReasonField()


class CancelForm(VersionForm):
    reason = ReasonField()


class ReviseForm(VersionForm):
    # Empty: a new file; otherwise the id of the job's file this is a new version of.
    file_id = forms.IntegerField(required=False)
    # The file itself (the plain form), or the id of a finished resumable upload (the uploader).
    file = forms.FileField(
        required=False,
        allow_empty_file=True,  # the action says "is empty" in its own words
    )
    upload_id = forms.UUIDField(required=False)

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("file") and not data.get("upload_id") and "upload_id" not in self.errors:
            self.add_error("file", "Choose the revised file.")
        return data
