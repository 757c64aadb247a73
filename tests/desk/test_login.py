"""Staff log in at /desk/login/ and out with a POST to /desk/logout/."""

import re

from django.test import Client

LOGIN, LOGOUT, QUEUE = "/desk/login/", "/desk/logout/", "/desk/"


def _csrf(client: Client, path: str) -> str:
    html = client.get(path).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_login_page_has_labelled_fields_and_a_button(client, db):
    html = client.get(LOGIN).content.decode()

    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button type="submit">Log in</button>' in html


def test_an_operator_logs_in_and_lands_on_the_queue(operator):
    client = Client(enforce_csrf_checks=True)
    token = _csrf(client, LOGIN)

    response = client.post(
        LOGIN,
        {"username": "olga", "password": "pw-olga", "csrfmiddlewaretoken": token},
        follow=True,
    )

    assert response.redirect_chain == [(QUEUE, 302)]
    assert "<h1>Queue</h1>" in response.content.decode()


def test_logging_in_returns_to_the_page_asked_for(client, operator):
    response = client.post(
        LOGIN + "?next=/desk/%3Fstate%3Dall",
        {"username": "olga", "password": "pw-olga", "next": "/desk/?state=all"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/desk/?state=all"


def test_logging_in_without_the_csrf_token_is_refused(operator):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": "olga", "password": "pw-olga"})

    assert response.status_code == 403
    assert client.get(QUEUE).status_code == 302


def test_a_wrong_password_keeps_the_username_and_says_so(client, operator):
    response = client.post(LOGIN, {"username": "olga", "password": "nope"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "enter a correct username and password" in html
    assert 'value="olga"' in html
    assert client.get(QUEUE).status_code == 302


def test_an_anonymous_visitor_is_sent_from_the_queue_to_log_in(client):
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"] == "/desk/login/?next=/desk/"


def test_a_user_who_is_not_staff_logs_in_but_gets_403_on_the_queue(client, stranger_user):
    client.post(LOGIN, {"username": "sam", "password": "pw-sam"})

    assert client.get(QUEUE).status_code == 403


def test_a_deactivated_operator_cannot_log_in(client, deactivated_operator):
    response = client.post(LOGIN, {"username": "dora", "password": "pw-dora"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert client.get(QUEUE).status_code == 302


def test_logout_is_post_only(client, operator):
    client.force_login(operator)

    assert client.get(LOGOUT).status_code == 405
    assert client.get(QUEUE).status_code == 200


def test_logout_ends_the_session(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    token = _csrf(client, QUEUE)  # the queue's "Log out" form carries it

    response = client.post(LOGOUT, {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.get(QUEUE).status_code == 302


def test_the_queue_offers_a_log_out_button(client, operator):
    client.force_login(operator)

    html = client.get(QUEUE).content.decode()

    assert '<form class="inline" method="post" action="/desk/logout/">' in html
    assert ">Log out</button>" in html
