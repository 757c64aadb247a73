"""The confirmation page: the reference and private link, for the browser that sent the request."""

from django.test import Client
from django.urls import reverse

from printdesk.jobs.models import Job

URL = reverse("portal:received")


def test_it_shows_the_reference_and_link_to_the_browser_that_sent_it(client, send_request):
    send_request(client)
    page = client.get(URL).content.decode()
    assert Job.objects.get().reference in page
    assert "/j/" in page
    assert "Open your job page" in page


def test_another_browser_sees_no_link(client, send_request):
    send_request(client)
    page = Client().get(URL).content.decode()
    assert Job.objects.get().reference not in page
    assert "/j/" not in page
    assert "We have received your request" in page


def test_the_link_is_shown_for_an_hour_only(client, send_request):
    send_request(client)
    session = client.session
    session["portal_submitted"]["at"] -= 3601
    session.save()
    page = client.get(URL).content.decode()
    assert Job.objects.get().reference not in page


def test_it_is_private_and_read_only(client, send_request):
    send_request(client)
    response = client.get(URL)
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.post(URL).status_code == 405
    assert Job.objects.count() == 1
