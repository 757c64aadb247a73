"""The request form at "/": one flow, errors beside their fields, nothing typed or sent is lost."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from printdesk.files.models import DraftUpload, FileVersion
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, hash_link_secret
from printdesk.notifications.models import Notification
from printdesk.security.models import RateLimitBucket
from tests.conftest import sample_upload, stl_upload
from tests.links import emailed_link
from tests.portal.conftest import csrf_token, draft_token

URL = reverse("portal:request")


def test_the_form_offers_active_materials_with_their_description_and_colours(client, catalogue):
    catalogue["resin"].active = False
    catalogue["resin"].save()

    page = client.get(URL).content.decode()

    assert "PLA — Everyday plastic" in page
    assert "Tough resin" not in page
    assert '<optgroup label="PLA"' in page
    assert '<option value="white"' in page
    assert 'type="file" id="id_files" name="files" multiple' in page
    assert "hp-field" in page and 'tabindex="-1"' in page and 'autocomplete="off"' in page


def test_it_creates_the_job_with_its_files_and_shows_the_link(client, send_request, catalogue):
    response = send_request(
        client, files=[stl_upload("bracket.stl"), sample_upload("20mm-xyz-cube.stl")]
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:received")
    job = Job.objects.get()
    assert job.state == JobState.SUBMITTED
    assert (job.customer_name, job.customer_email) == ("Cara Customer", "cara@example.com")
    assert (job.customer_phone, job.customer_company) == ("+44 20 7946 0000", "Cara's Cogs")
    assert (job.material, job.colour, job.quantity) == (catalogue["pla"], "white", 4)
    assert job.notes == "Matte finish please"
    names = sorted(FileVersion.objects.filter(job_file__job=job).values_list("original_name"))
    assert names == [("20mm-xyz-cube.stl",), ("bracket.stl",)]
    for version in FileVersion.objects.all():
        assert default_storage.exists(version.blob.name)
    assert not DraftUpload.objects.exists()  # the drafts became the job's files

    confirmation = client.get(response["Location"])
    page = confirmation.content.decode()
    assert job.reference in page
    [link] = [emailed_link(n) for n in Notification.objects.filter(audience="customer")]
    assert link in page
    secret = link.rstrip("/").rsplit("/", 1)[-1]
    assert hash_link_secret(secret) == job.link_hash
    assert "Keep this link" in page
    assert "emailed it to cara@example.com" in page
    assert confirmation["Cache-Control"] == "no-store"


def test_the_desired_date_is_kept_when_given(client, send_request):
    wanted = timezone.localdate() + timedelta(days=10)
    send_request(client, desired_date=wanted.isoformat())
    assert Job.objects.get().desired_date == wanted


WRONG_FIELDS = [
    ("customer_name", "", "Please tell us your name."),
    ("customer_email", "not-an-address", "Please give a valid email address."),
    ("material", "", "Choose a material."),
    ("quantity", "0", "Quantity must be at least 1."),
    ("quantity", "lots", "Quantity must be a whole number."),
    ("desired_date", "yesterday", "Give the date as YYYY-MM-DD."),
]


@pytest.mark.parametrize(("field", "value", "message"), WRONG_FIELDS)
def test_it_keeps_every_input_and_file_when_one_field_is_wrong(
    client, send_request, request_data, field, value, message
):
    response = send_request(client, **{field: value})

    assert response.status_code == 422
    assert not Job.objects.exists()
    page = response.content.decode()
    assert f'<ul class="field-error" id="id_{field}-error"><li>{message}</li></ul>' in page
    assert f'aria-describedby="{_described_by(field)}"' in page
    typed = request_data(**{field: value})
    for name in ("customer_name", "customer_email", "customer_phone", "customer_company"):
        if typed[name]:
            assert f'name="{name}" value="{_escaped(typed[name])}"' in page
    assert "Matte finish please</textarea>" in page
    assert "Already received: bracket.stl" in page
    assert DraftUpload.objects.get().original_name == "bracket.stl"


def _escaped(text: str) -> str:
    return text.replace("'", "&#x27;")


def _described_by(field: str) -> str:
    helps = {"customer_email", "quantity", "desired_date"}
    error = f"id_{field}-error"
    return f"id_{field}-help {error}" if field in helps else error


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("colour", "purple", "PLA comes in: black, white."),
        ("desired_date", "2001-01-01", "The desired date is in the past."),
    ],
)
def test_the_actions_own_refusals_appear_beside_their_field(
    client, send_request, field, value, message
):
    response = send_request(client, **{field: value})

    assert response.status_code == 422
    page = response.content.decode()
    assert f'id="id_{field}-error"><li>{message}</li>' in page
    assert "Already received: bracket.stl" in page
    assert not Job.objects.exists()


def test_an_inactive_material_is_refused_beside_the_material(client, send_request, catalogue):
    catalogue["pla"].active = False
    catalogue["pla"].save()
    response = send_request(client)
    assert response.status_code == 422
    assert "Choose one of the bureau&#x27;s materials." in response.content.decode()


def test_files_received_earlier_go_with_the_corrected_request(client, send_request):
    first = send_request(client, customer_email="wrong")
    token = draft_token(first)

    second = send_request(client, files=[stl_upload("lid.stl")], draft=token)

    assert second.status_code == 302
    job = Job.objects.get()
    assert sorted(job.files.values_list("name", flat=True)) == ["bracket.stl", "lid.stl"]
    assert not DraftUpload.objects.exists()


def test_a_received_file_can_be_removed_and_its_blob_goes(client, send_request):
    first = send_request(
        client, files=[stl_upload("keep.stl"), stl_upload("drop.stl")], quantity=""
    )
    token = draft_token(first)
    drop = DraftUpload.objects.get(original_name="drop.stl")

    second = send_request(client, files=[], draft=token, remove=[str(drop.pk)])

    assert second.status_code == 302
    assert list(Job.objects.get().files.values_list("name", flat=True)) == ["keep.stl"]
    assert not default_storage.exists(drop.blob.name)


def test_removing_every_file_asks_for_one(client, send_request):
    token = draft_token(send_request(client, quantity=""))
    draft = DraftUpload.objects.get()

    response = send_request(client, files=[], draft=token, remove=[str(draft.pk)])

    assert response.status_code == 422
    assert "Attach at least one print file." in response.content.decode()
    assert not Job.objects.exists()


def test_it_asks_for_a_file_when_none_is_attached(client, send_request):
    response = send_request(client, files=[])
    assert response.status_code == 422
    assert 'id="id_files-error"><li>Attach at least one print file.</li>' in (
        response.content.decode()
    )


def test_another_forms_drafts_cannot_be_removed_or_taken(client, send_request):
    send_request(client, customer_email="wrong")
    theirs = DraftUpload.objects.get()

    response = send_request(client, files=[stl_upload("mine.stl")], remove=[str(theirs.pk)])

    assert response.status_code == 302
    assert list(Job.objects.get().files.values_list("name", flat=True)) == ["mine.stl"]
    assert DraftUpload.objects.filter(pk=theirs.pk).exists()


def test_an_unsupported_file_is_refused_clearly_and_nothing_else_is_lost(client, send_request):
    response = send_request(client, files=[stl_upload("good.stl"), sample_upload("README.md")])

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="id_files-error"><li>README.md: only .stl, .3mf, .obj, .step, .stp files' in page
    assert "Already received: good.stl" in page
    assert 'value="Cara Customer"' in page
    assert not Job.objects.exists()


def test_an_empty_file_is_named_in_the_message(client, send_request):
    response = send_request(client, files=[stl_upload("hollow.stl", content=b"")])
    assert "hollow.stl is empty." in response.content.decode()


def test_an_oversize_file_is_refused_with_the_limit(client, send_request, settings):
    settings.MAX_FILE_BYTES = 100
    response = send_request(client, files=[sample_upload("20mm-xyz-cube.stl")])
    assert response.status_code == 422
    assert "20mm-xyz-cube.stl is larger than the limit per file." in response.content.decode()
    assert not DraftUpload.objects.exists()


def test_files_beyond_the_limit_per_job_are_not_kept(client, send_request, settings):
    settings.MAX_FILES_PER_JOB = 2
    uploads = [stl_upload(f"part{i}.stl") for i in range(3)]
    response = send_request(client, files=uploads)
    assert response.status_code == 422
    assert "part2.stl was not kept: attach at most 2 files." in response.content.decode()
    assert DraftUpload.objects.count() == 2


def test_a_filled_honeypot_looks_accepted_but_creates_nothing(client, send_request):
    response = send_request(client, website="http://spam.example")

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:received")
    assert not Job.objects.exists()
    assert not DraftUpload.objects.exists()
    assert not Notification.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "We have received your request" in page


def test_requests_per_address_are_limited_and_the_inputs_kept(client, send_request, settings):
    settings.REQUEST_RATE_LIMIT = 2
    for _ in range(2):
        assert send_request(client).status_code == 302

    response = send_request(client, customer_email="CARA@example.com", notes="Third one")

    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many requests" in page
    assert "Third one</textarea>" in page
    assert "Already received: bracket.stl" in page
    assert Job.objects.count() == 2
    # Another address is not held back by Cara's.
    assert send_request(client, customer_email="dan@example.com").status_code == 302


def test_requests_per_client_ip_are_limited(client, send_request, settings):
    settings.PUBLIC_IP_RATE_LIMIT = 1
    assert send_request(client, customer_email="a@example.com").status_code == 302

    response = send_request(client, customer_email="b@example.com")

    assert response.status_code == 429
    assert 'value="b@example.com"' in response.content.decode()
    assert Job.objects.count() == 1


def test_a_second_submission_of_the_same_drafts_creates_no_second_job(client, send_request):
    token = draft_token(send_request(client, quantity=""))
    assert send_request(client, files=[], draft=token).status_code == 302

    again = send_request(client, files=[], draft=token)

    assert again.status_code == 422
    assert Job.objects.count() == 1


def test_the_form_needs_a_csrf_token(csrf_client, request_data):
    payload = {**request_data(), "files": [stl_upload()]}
    assert csrf_client.post(URL, payload).status_code == 403
    assert not DraftUpload.objects.exists()

    payload["csrfmiddlewaretoken"] = csrf_token(csrf_client, URL)
    payload["files"] = [stl_upload()]
    assert csrf_client.post(URL, payload).status_code == 302
    assert Job.objects.count() == 1


def test_get_changes_nothing(client, catalogue):
    client.get(URL, {"customer_name": "x", "website": "y"})
    assert not Job.objects.exists()
    assert not DraftUpload.objects.exists()
    assert not RateLimitBucket.objects.exists()


def test_other_methods_are_refused(client, catalogue):
    assert client.put(URL).status_code == 405
    assert client.delete(URL).status_code == 405
