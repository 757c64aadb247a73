"""Files received by the request form wait a day for their request, then are pruned."""

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from printdesk.files.models import DraftUpload
from printdesk.files.storage import claim_drafts, keep_draft, prune_drafts
from printdesk.security import ratelimit
from printdesk.security.models import RateLimitBucket
from tests.conftest import stl_upload
from tests.portal.conftest import draft_token

TOKEN = "a-draft-token-of-the-right-length"


def test_a_draft_older_than_a_day_is_pruned_with_its_file(db, clock):
    old = keep_draft(stl_upload("old.stl"), TOKEN)
    clock.advance(days=1)
    young = keep_draft(stl_upload("young.stl"), TOKEN)
    clock.advance(days=0)

    assert prune_drafts() == 1

    assert list(DraftUpload.objects.all()) == [young]
    assert not default_storage.exists(old.blob.name)
    assert default_storage.exists(young.blob.name)


def test_a_claimed_draft_is_never_pruned_from_under_its_job(db, clock):
    draft = keep_draft(stl_upload("part.stl"), TOKEN)
    assert claim_drafts([draft])
    clock.advance(days=2)
    assert prune_drafts() == 0
    assert default_storage.exists(draft.blob.name)
    assert not claim_drafts([draft])  # a second claim gets nothing


def test_a_pruned_draft_is_asked_for_again(client, send_request, clock):
    token = draft_token(send_request(client, quantity=""))
    clock.advance(days=2)
    prune_drafts()

    response = send_request(client, files=[], draft=token)

    assert response.status_code == 422
    assert "Attach at least one print file." in response.content.decode()


@pytest.mark.django_db(transaction=True)  # the command closes its connection between batches
def test_the_worker_does_the_housekeeping(clock):
    keep_draft(stl_upload("old.stl"), TOKEN)
    ratelimit.hit("request-ip", "127.0.0.1", limit=5, window=60)
    clock.advance(days=3)

    call_command("worker", "--once")

    assert not DraftUpload.objects.exists()
    assert not RateLimitBucket.objects.exists()


def test_the_request_form_page_starts_with_a_fresh_token(client, catalogue):
    first = draft_token(client.get(reverse("portal:request")))
    second = draft_token(client.get(reverse("portal:request")))
    assert first != second
