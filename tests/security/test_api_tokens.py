"""API tokens per operator (issue 6): stored hashed, shown once, revocable, last use shown;
the desk's tokens page for each operator and the admins' view of anyone's."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from printdesk.accounts import staff
from printdesk.accounts.models import TOKEN_PREFIX, ApiToken

TOKENS = reverse("desk:tokens")
JOBS = "/api/v1/jobs"
SECRET_RE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{43}")


def browser_of(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def api_status(secret: str) -> int:
    return Client().get(JOBS, headers=bearer(secret)).status_code


def create(browser: Client, name: str = "label printer") -> str:
    """Create a token on the tokens page; returns the secret the page showed."""
    response = browser.post(TOKENS, {"name": name})
    assert response.status_code == 200
    found = SECRET_RE.findall(response.content.decode())
    assert len(found) == 1, "the new token's secret is shown exactly once"
    return found[0]


def revoke_path(token: ApiToken) -> str:
    return reverse("desk:token_revoke", args=[token.pk])


# Creating: shown once, stored hashed


@pytest.mark.django_db
def test_an_operator_creates_a_token_that_works_and_is_shown_only_once(operator):
    browser = browser_of(operator)

    secret = create(browser)

    assert api_status(secret) == 200
    listing = browser.get(TOKENS).content.decode()
    assert "label printer" in listing
    assert secret not in listing and not SECRET_RE.search(listing)


@pytest.mark.django_db
def test_the_page_that_shows_a_secret_is_never_cached(operator):
    response = browser_of(operator).post(TOKENS, {"name": "ci"})
    assert "no-store" in response["Cache-Control"]
    assert "no-store" in browser_of(operator).get(TOKENS)["Cache-Control"]


@pytest.mark.django_db
def test_a_token_is_stored_as_its_sha256_only(operator):
    secret = create(browser_of(operator))

    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 (a model's table)
        rows = cursor.fetchall()
    assert not any(secret in str(value) for row in rows for value in row)


@pytest.mark.django_db
def test_a_token_without_a_name_is_refused_with_the_form_again(operator):
    response = browser_of(operator).post(TOKENS, {"name": "  "})

    assert response.status_code == 422
    assert not ApiToken.objects.exists()
    assert not SECRET_RE.search(response.content.decode())


# Last use


@pytest.mark.django_db
def test_the_page_shows_when_a_token_was_last_used(operator):
    browser = browser_of(operator)
    secret = create(browser)
    assert "Never" in browser.get(TOKENS).content.decode()

    api_status(secret)

    used = ApiToken.objects.get().last_used_at
    assert used is not None
    assert f'datetime="{used.isoformat()}"' in browser.get(TOKENS).content.decode()


@pytest.mark.django_db
def test_last_use_is_written_at_most_once_a_minute(operator):
    token, secret = ApiToken.issue(operator, "busy script")
    api_status(secret)
    first = ApiToken.objects.get().last_used_at

    for _ in range(5):
        api_status(secret)
    assert ApiToken.objects.get().last_used_at == first

    token.touch()  # a second process that still saw it as stale: the database says no
    assert ApiToken.objects.get().last_used_at == first

    a_while_ago = timezone.now() - timedelta(seconds=61)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=a_while_ago)
    api_status(secret)
    assert ApiToken.objects.get().last_used_at > a_while_ago


# Revoking


@pytest.mark.django_db
def test_an_operator_revokes_their_token_and_it_stops_working_at_once(operator):
    browser = browser_of(operator)
    secret = create(browser)
    token = ApiToken.objects.get()

    response = browser.post(revoke_path(token), follow=True)

    assert response.redirect_chain == [(TOKENS, 302)]
    assert "it works no more" in response.content.decode()
    assert api_status(secret) == 401
    assert ApiToken.objects.get().revoked_at is not None
    assert f'action="{revoke_path(token)}"' not in browser.get(TOKENS).content.decode()


@pytest.mark.django_db
def test_revoking_twice_changes_nothing(operator):
    browser = browser_of(operator)
    token, _ = ApiToken.issue(operator, "old")
    browser.post(revoke_path(token))
    revoked_at = ApiToken.objects.get().revoked_at

    response = browser.post(revoke_path(token), follow=True)

    assert "was revoked already" in response.content.decode()
    assert ApiToken.objects.get().revoked_at == revoked_at


@pytest.mark.django_db
def test_an_operator_neither_sees_nor_revokes_another_operators_token(operator, django_user_model):
    other = django_user_model.objects.create_user("otto", "otto@bureau.test", "x", is_staff=True)
    theirs, secret = ApiToken.issue(other, "otto's script")
    browser = browser_of(operator)

    assert "otto's script" not in browser.get(TOKENS).content.decode()
    assert browser.post(revoke_path(theirs)).status_code == 404
    member_page = browser.get(reverse("desk:admin_member_tokens", args=[other.pk]))
    assert member_page.status_code == 403
    assert api_status(secret) == 200


@pytest.mark.django_db
def test_revoking_takes_post_only(operator):
    token, secret = ApiToken.issue(operator, "script")
    assert browser_of(operator).get(revoke_path(token)).status_code == 405
    assert api_status(secret) == 200


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(operator):
    token, secret = ApiToken.issue(operator, "script")
    for response in (Client().get(TOKENS), Client().post(revoke_path(token))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("desk:login"))
    assert api_status(secret) == 200


# Admins


@pytest.mark.django_db
def test_an_admin_sees_an_operators_tokens_and_revokes_one(admin, operator):
    live, secret = ApiToken.issue(operator, "label printer")
    ApiToken.objects.filter(pk=live.pk).update(last_used_at=timezone.now())
    ApiToken.issue(operator, "spare")
    browser = browser_of(admin)
    member_page = reverse("desk:admin_member_tokens", args=[operator.pk])

    page = browser.get(member_page).content.decode()
    assert "label printer" in page and "spare" in page
    assert not SECRET_RE.search(page)

    response = browser.post(revoke_path(live), follow=True)

    assert response.redirect_chain == [(member_page, 302)]
    assert api_status(secret) == 401
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_the_admin_tokens_page_is_for_staff_members_only(admin, stranger_user):
    not_staff = reverse("desk:admin_member_tokens", args=[stranger_user.pk])
    assert browser_of(admin).get(not_staff).status_code == 404


# Deactivation


@pytest.mark.django_db
def test_deactivating_an_operator_ends_their_session_and_every_token_at_once(admin, operator):
    browser = browser_of(operator)
    first, second = create(browser, "printer"), create(browser, "laptop")
    assert api_status(first) == api_status(second) == 200

    staff.deactivate(by=admin, user=operator)

    assert api_status(first) == api_status(second) == 401
    assert browser.get(TOKENS).status_code == 302
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    # Reactivated, they start clean: the old tokens stay dead.
    staff.reactivate(by=admin, user=operator)
    assert api_status(first) == 401
