"""POST /api/v1/auth/token: staff trade their username and password for a bearer token."""

from django.db import connection

from printdesk.accounts.models import ApiToken
from tests.api.conftest import ApiClient, bearer


def _ask(api, username: str, password: str, **extra):
    return api.post("/auth/token", {"username": username, "password": password, **extra})


def test_it_issues_a_token_that_works(api, operator, make_job):
    make_job()

    response = _ask(api, "olga", "pw-olga", name="Label printer script")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Label printer script"
    assert body["token"].startswith("pdt_")
    listing = ApiClient(api.client, bearer(body["token"])).get("/jobs")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (operator, "Label printer script")


def test_it_names_the_token_by_default(api, operator):
    response = _ask(api, "olga", "pw-olga")

    assert response.json()["name"] == "API token"


def test_it_issues_tokens_to_admins(api, admin):
    response = _ask(api, "ada", "pw-ada")

    assert response.status_code == 201


def test_it_refuses_a_wrong_password(api, operator):
    response = _ask(api, "olga", "pw-ada")

    assert response.status_code == 401
    assert response.json()["message"] == "Wrong username or password."
    assert not ApiToken.objects.exists()


def test_it_refuses_an_unknown_user_the_same_way(api, operator):
    response = _ask(api, "nobody", "pw-olga")

    assert response.status_code == 401
    assert response.json()["message"] == "Wrong username or password."


def test_it_refuses_a_deactivated_operator(api, deactivated_operator):
    response = _ask(api, "dora", "pw-dora")

    assert response.status_code == 401
    assert not ApiToken.objects.exists()


def test_it_refuses_a_user_who_is_not_staff(api, stranger_user):
    response = _ask(api, "sam", "pw-sam")

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert not ApiToken.objects.exists()


def test_it_stores_the_token_hashed(api, operator):
    secret = _ask(api, "olga", "pw-olga").json()["token"]

    token = ApiToken.objects.get()
    assert token.token_hash != secret
    assert not ApiToken.objects.filter(token_hash=secret).exists()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 (a model's table)
        rows = cursor.fetchall()
    assert rows and not any(secret in str(value) for row in rows for value in row)
    # Not even part of it: the random part of the secret appears nowhere.
    assert not any(secret[4:20] in str(value) for row in rows for value in row)


def test_each_request_gets_a_new_token(api, operator):
    first = _ask(api, "olga", "pw-olga").json()["token"]
    second = _ask(api, "olga", "pw-olga").json()["token"]

    assert first != second
    assert ApiToken.objects.count() == 2


def test_it_needs_username_and_password(api, operator):
    response = api.post("/auth/token", {"username": "olga"})

    assert response.status_code == 422
    assert "password: Field required" in response.json()["message"]


def test_it_refuses_an_overlong_token_name(api, operator):
    response = _ask(api, "olga", "pw-olga", name="x" * 101)

    assert response.status_code == 422
    assert "name: " in response.json()["message"]
    assert not ApiToken.objects.exists()


def test_it_answers_a_malformed_body_with_400(api, operator):
    response = api.post_raw("/auth/token", '{"username": "olga", ')

    assert response.status_code == 400


def test_it_is_post_only(api):
    response = api.get("/auth/token")

    assert response.status_code == 405
