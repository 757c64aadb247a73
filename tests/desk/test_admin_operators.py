"""The operators admin page: list, invite (and the set-password link), deactivate, reactivate,
change role."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from printdesk.accounts import staff
from printdesk.accounts.models import ApiToken
from printdesk.accounts.staff import Role
from printdesk.catalogue.models import Bureau

OPERATORS = reverse("desk:admin_operators")
INVITE = reverse("desk:admin_invite")
NEW_PASSWORD = "violet-anchor-42-lantern"


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def logged_in(user) -> Client:
    """A separate browser in which `user` logged in with their password."""
    browser = Client()
    assert browser.login(username=user.username, password="pw-" + user.username)
    return browser


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def page_text(response) -> str:
    return response.content.decode()


def invite_form(**changes) -> dict:
    form = {"username": "ivy", "name": "Ivy Ink", "email": "ivy@bureau.test", "role": "operator"}
    form.update(changes)
    return form


# The list


def test_it_lists_staff_with_role_status_and_token_use(admin_client, admin, operator, clock):
    token, _ = ApiToken.issue(operator, "Label printer")
    token.touch()
    old, _ = ApiToken.issue(operator, "Old script")
    ApiToken.objects.filter(pk=old.pk).update(revoked_at=clock.now())

    response = admin_client.get(OPERATORS)

    text = page_text(response)
    assert "olga" in text and "olga@bureau.test" in text
    assert "ada" in text and "This is you" in text
    row = re.search(r"<tr>\s*<th scope=\"row\">olga.*?</tr>", text, re.S)
    assert row is not None
    assert "Operator" in row.group(0)
    assert f'/desk/admin/operators/{operator.pk}/tokens/">1</a><br>' in row.group(0)  # one token
    assert "last used" in row.group(0)
    assert "Make admin" in row.group(0)


def test_it_shows_deactivated_people_with_a_reactivate_button(admin_client, deactivated_operator):
    text = page_text(admin_client.get(OPERATORS))

    assert "dora" in text and "Deactivated" in text and "Reactivate" in text


def test_it_does_not_list_people_who_are_not_staff(admin_client, stranger_user):
    assert "sam@bureau.test" not in page_text(admin_client.get(OPERATORS))


def test_the_list_costs_the_same_queries_for_many_people(
    admin_client, django_user_model, django_assert_max_num_queries
):
    for n in range(30):
        member = django_user_model.objects.create_user(f"op{n}", is_staff=True)
        ApiToken.issue(member, "script")
    Bureau.current()

    # Session, user, bureau, staff, token use.
    with django_assert_max_num_queries(5):
        response = admin_client.get(OPERATORS)

    assert page_text(response).count("Make admin") == 30


# Inviting


def test_an_invitation_lets_the_new_operator_choose_a_password_and_log_in(admin_client, client):
    Bureau.objects.update_or_create(
        pk=1, defaults={"name": "Layer Co", "reply_to": "hi@layer.test"}
    )

    response = admin_client.post(INVITE, invite_form(), follow=True)

    assert "Invited Ivy Ink as operator" in page_text(response)
    ivy = staff.staff_users().get(username="ivy")
    assert (ivy.first_name, ivy.last_name, ivy.is_superuser) == ("Ivy", "Ink", False)
    assert not ivy.has_usable_password()
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ivy@bureau.test"]
    assert email.reply_to == ["hi@layer.test"]
    assert "Layer Co" in email.subject
    link = re.search(re.escape(settings.SITE_URL) + r"(/desk/password/set/\S+/)", email.body)
    assert link is not None

    visitor = Client()
    form_page = visitor.get(link.group(1), follow=True)
    assert "Choose your password" in page_text(form_page)
    done = visitor.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is set" in page_text(done)
    assert reverse("desk:login") in page_text(done)

    logged = visitor.post(
        reverse("desk:login"), {"username": "ivy", "password": NEW_PASSWORD}, follow=True
    )
    assert logged.wsgi_request.user == ivy
    assert visitor.get(reverse("desk:queue")).status_code == 200


def test_a_set_password_link_works_only_once(client, admin_client):
    admin_client.post(INVITE, invite_form())
    path = re.search(r"(/desk/password/set/\S+/)", mail.outbox[0].body).group(1)
    first = client.get(path, follow=True)
    client.post(
        first.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    again = Client().get(path, follow=True)

    assert "This link no longer works" in page_text(again)


def test_a_set_password_link_is_refused_once_the_person_is_deactivated(client, admin, operator):
    path = staff.set_password_path(operator)
    staff.deactivate(by=admin, user=operator)

    response = client.get(path, follow=True)

    assert "This link no longer works" in page_text(response)


def test_a_garbled_set_password_link_is_refused(client, operator):
    response = client.get("/desk/password/set/Zm9v/abc-def/", follow=True)

    assert response.status_code == 200
    assert "This link no longer works" in page_text(response)


def test_it_keeps_the_password_form_when_the_passwords_differ(client, operator):
    first = client.get(staff.set_password_path(operator), follow=True)

    response = client.post(
        first.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": "other"}
    )

    assert response.status_code == 200
    assert 'id="id_new_password2_error"' in page_text(response)
    operator.refresh_from_db()
    assert operator.check_password("pw-olga")


def test_it_invites_an_admin(admin_client):
    admin_client.post(INVITE, invite_form(role="admin"))

    assert staff.staff_users().get(username="ivy").is_superuser


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"username": "OLGA"}, "username", "Someone already has this username."),
        ({"email": "Olga@Bureau.test"}, "email", "Someone already has an account with this"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"username": "has space"}, "username", "Enter a valid username"),
        ({"role": "owner"}, "role", "Select a valid choice."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_it_keeps_every_input_when_one_field_is_wrong(
    admin_client, operator, changes, field, error
):
    form = invite_form(**changes)

    response = admin_client.post(INVITE, form)

    assert response.status_code == 200
    text = page_text(response)
    assert f'<p class="field-error" id="id_{field}_error">{error}' in text
    assert f'aria-describedby="id_{field}_helptext id_{field}_error"' in text or (
        f'aria-describedby="id_{field}_error"' in text
    )
    for name, value in form.items():
        if name not in (field, "role"):
            assert f'value="{value}"' in text
    assert not mail.outbox
    assert (
        not staff.staff_users()
        .filter(username__iexact=form["username"])
        .exclude(pk=operator.pk)
        .exists()
    )


def test_the_invite_form_works_in_a_browser_that_checks_csrf(admin):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_text(browser.get(INVITE)))

    response = browser.post(INVITE, {**invite_form(), "csrfmiddlewaretoken": token.group(1)})

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_it_tells_the_admin_when_the_invitation_could_not_be_sent(admin_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there

    response = admin_client.post(INVITE, invite_form(), follow=True)

    assert "could not be sent" in page_text(response)
    assert staff.staff_users().filter(username="ivy").exists()


def test_it_sends_a_fresh_set_password_link(admin_client, operator):
    response = admin_client.post(reverse("desk:admin_send_link", args=[operator.pk]), follow=True)

    assert "Sent a set-password link to olga@bureau.test" in page_text(response)
    assert len(mail.outbox) == 1
    assert "/desk/password/set/" in mail.outbox[0].body


# Deactivating and reactivating


def test_deactivating_asks_for_confirmation_first(admin_client, operator):
    response = admin_client.get(reverse("desk:admin_deactivate", args=[operator.pk]))

    assert "Deactivate olga?" in page_text(response)
    assert '<button type="submit" class="danger">Deactivate olga</button>' in page_text(response)
    operator.refresh_from_db()
    assert operator.is_active


def test_deactivating_ends_the_session_and_the_api_tokens_at_once(admin_client, operator):
    browser = logged_in(operator)
    assert browser.get(reverse("desk:queue")).status_code == 200
    _, secret = ApiToken.issue(operator, "script")
    assert Client().get("/api/v1/jobs", headers=bearer(secret)).status_code == 200

    response = admin_client.post(reverse("desk:admin_deactivate", args=[operator.pk]), follow=True)

    assert "Deactivated olga" in page_text(response)
    operator.refresh_from_db()
    assert not operator.is_active
    desk = browser.get(reverse("desk:queue"))
    assert desk.status_code == 302 and desk["Location"].startswith(reverse("desk:login"))
    assert Client().get("/api/v1/jobs", headers=bearer(secret)).status_code == 401
    assert ApiToken.objects.get().revoked_at is not None
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(operator.pk) for s in Session.objects.all()
    )
    assert not Client().login(username="olga", password="pw-olga")


def test_reactivating_lets_them_log_in_again_but_keeps_old_sessions_and_tokens_dead(
    admin_client, admin, operator
):
    browser = logged_in(operator)
    _, secret = ApiToken.issue(operator, "script")
    staff.deactivate(by=admin, user=operator)

    response = admin_client.post(reverse("desk:admin_reactivate", args=[operator.pk]), follow=True)

    assert "Reactivated olga" in page_text(response)
    assert browser.get(reverse("desk:queue")).status_code == 302
    assert Client().get("/api/v1/jobs", headers=bearer(secret)).status_code == 401
    assert logged_in(operator).get(reverse("desk:queue")).status_code == 200


def test_an_admin_cannot_deactivate_themself(admin_client, admin):
    page = admin_client.get(reverse("desk:admin_deactivate", args=[admin.pk]))
    assert "You cannot deactivate your own account" in page_text(page)
    assert "<button" not in page_text(page).split("<main", 1)[1]

    response = admin_client.post(reverse("desk:admin_deactivate", args=[admin.pk]), follow=True)

    assert "You cannot deactivate your own account" in page_text(response)
    admin.refresh_from_db()
    assert admin.is_active


def test_deactivating_another_admin_leaves_the_others_in_charge(admin_client, django_user_model):
    bob = django_user_model.objects.create_user("bob", is_staff=True, is_superuser=True)

    admin_client.post(reverse("desk:admin_deactivate", args=[bob.pk]))

    bob.refresh_from_db()
    assert not bob.is_active


# Roles


def test_it_makes_an_operator_admin_and_back(admin_client, operator):
    role_url = reverse("desk:admin_change_role", args=[operator.pk])

    response = admin_client.post(role_url, {"role": "admin"}, follow=True)

    assert "olga is now admin." in page_text(response)
    operator.refresh_from_db()
    assert operator.is_superuser and operator.is_staff
    assert logged_in(operator).get(reverse("desk:admin_home")).status_code == 200

    admin_client.post(role_url, {"role": "operator"})

    operator.refresh_from_db()
    assert not operator.is_superuser and operator.is_staff
    assert logged_in(operator).get(reverse("desk:admin_home")).status_code == 403


def test_an_admin_cannot_demote_themself(admin_client, admin):
    response = admin_client.post(
        reverse("desk:admin_change_role", args=[admin.pk]), {"role": "operator"}, follow=True
    )

    assert "You cannot change your own role" in page_text(response)
    admin.refresh_from_db()
    assert admin.is_superuser


def test_it_refuses_an_unknown_role(admin_client, operator):
    response = admin_client.post(
        reverse("desk:admin_change_role", args=[operator.pk]), {"role": "owner"}, follow=True
    )

    assert "Choose operator or admin." in page_text(response)
    operator.refresh_from_db()
    assert not operator.is_superuser


def test_it_never_removes_the_last_active_admin(admin, django_user_model):
    # Two admins demote each other at the same moment: whoever comes second is refused,
    # even though the page they acted from still showed them as admin.
    bob = django_user_model.objects.create_user("bob", is_staff=True, is_superuser=True)
    stale_bob = django_user_model.objects.get(pk=bob.pk)
    staff.change_role(by=admin, user=bob, role=Role.OPERATOR)

    with pytest.raises(staff.Refused, match="at least one active admin"):
        staff.change_role(by=stale_bob, user=admin, role=Role.OPERATOR)
    with pytest.raises(staff.Refused, match="at least one active admin"):
        staff.deactivate(by=stale_bob, user=admin)

    admin.refresh_from_db()
    assert admin.is_superuser and admin.is_active


def test_an_inactive_admin_does_not_count_as_the_one_left(admin, django_user_model):
    bob = django_user_model.objects.create_user(
        "bob", is_staff=True, is_superuser=True, is_active=False
    )

    with pytest.raises(staff.Refused):
        staff.change_role(by=bob, user=admin, role=Role.OPERATOR)


def test_it_refuses_a_username_taken_while_the_form_was_open(admin, operator):
    with pytest.raises(staff.Refused, match="already has this username"):
        staff.invite(
            by=admin, username="olga", email="new@bureau.test", name="New", role=Role.OPERATOR
        )

    assert not mail.outbox
