"""The private link is derived from the job's nonce with the server's key: every customer email
can carry it, and no table ever holds it."""

from django.apps import apps

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.lifecycle import JobState
from printdesk.jobs.models import Job, hash_link_secret, link_secret
from printdesk.notifications import render
from printdesk.notifications.models import Notification
from tests.portal.conftest import status_url


def rows_holding(secret: str) -> list[str]:
    """Every row of every table whose values contain `secret`, as "model: row"."""
    found = []
    for model in apps.get_models():
        for row in model.objects.values():
            if secret in repr(row):
                found.append(f"{model.__name__}: {row}")
    return found


def snapshot_all() -> None:
    for row in Notification.objects.select_related("job", "audit_event"):
        render.take_snapshot(row)


def test_no_table_holds_the_secret_after_submission_or_rotation(make_job, operator):
    job, secret = make_job(JobState.QUOTED)
    snapshot_all()
    assert rows_holding(secret) == []

    actions.rotate_link(job=job, actor=Actor.staff(operator))
    new_secret = link_secret(Job.objects.get(pk=job.pk))
    assert new_secret is not None and new_secret != secret
    snapshot_all()
    assert rows_holding(new_secret) == []
    assert Notification.objects.filter(context__has_key="link").count() == 0


def test_the_derived_link_opens_the_job_and_the_old_one_stops_after_rotation(
    client, make_job, operator
):
    job, secret = make_job(JobState.QUOTED)
    assert link_secret(job) == secret
    assert client.get(status_url(secret)).status_code == 200

    actions.rotate_link(job=job, actor=Actor.staff(operator))

    fresh = Job.objects.get(pk=job.pk)
    assert client.get(status_url(secret)).status_code == 410  # replaced: gone, not unknown
    assert client.get(status_url(link_secret(fresh))).status_code == 200
    assert link_secret(job) == link_secret(fresh)  # the action updates the caller's job too


def test_the_secret_is_256_bits_urlsafe_without_padding(make_job):
    job, secret = make_job()
    assert len(secret) == 43 and "=" not in secret
    assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(job.link_nonce) == 64
    assert job.link_hash == hash_link_secret(secret)


def test_links_survive_a_key_rotation_while_the_old_key_is_a_fallback(make_job, settings):
    job, secret = make_job()
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert link_secret(job) == secret

    settings.SECRET_KEY_FALLBACKS = []
    assert link_secret(job) is None  # never a link that would not open the job


def test_a_link_made_before_derivation_has_no_secret_to_give(make_job):
    job, _ = make_job()
    Job.objects.filter(pk=job.pk).update(link_nonce="")
    assert link_secret(Job.objects.get(pk=job.pk)) is None


def test_a_job_without_a_derivable_link_is_pointed_to_lost_your_link(make_job):
    job, secret = make_job()
    Job.objects.filter(pk=job.pk).update(link_nonce="")
    row = Notification.objects.select_related("job", "audit_event").get(
        job=job, audience="customer"
    )
    render.take_snapshot(row)
    email = render.to_email(row)

    assert render.LINK_PLACEHOLDER not in row.body_text
    assert '"Lost your link?"' in email.body
    assert "\nhttp://127.0.0.1:8000/lost-link/\n" in email.body
    assert 'href="http://127.0.0.1:8000/lost-link/"' in email.alternatives[0].content
    assert "/j/" not in email.body
    assert secret not in email.body


def test_a_key_lost_after_the_snapshot_sends_the_lost_link_page_instead(make_job, settings):
    job, secret = make_job()
    row = Notification.objects.select_related("job", "audit_event").get(
        job=job, audience="customer"
    )
    render.take_snapshot(row)
    settings.SECRET_KEY = "another-key-" + "y" * 40

    email = render.to_email(row)

    assert secret not in email.body
    assert "http://127.0.0.1:8000/lost-link/" in email.body
