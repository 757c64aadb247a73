"""Through the API: after a rotation the old link is refused and the new one works."""

from printdesk.jobs.lifecycle import JobState
from printdesk.notifications.models import Notification
from tests.links import emailed_secret


def test_the_old_link_stops_working_and_the_new_one_works(make_job, staff_api, customer_api):
    job, old_secret = make_job(JobState.QUOTED)
    assert customer_api(old_secret).get("/customer/job").status_code == 200

    response = staff_api.post(f"/jobs/{job.reference}/rotate-link", {})

    assert response.status_code == 200
    assert response.json()["audit"][-1]["event"] == "link_rotated"
    assert old_secret not in response.content.decode()
    gone = customer_api(old_secret).get("/customer/job")
    assert (gone.status_code, gone.json()["code"]) == (410, "link_revoked")
    assert job.reference not in gone.content.decode()
    email = Notification.objects.filter(job=job, event="link_rotated").get()
    new_secret = emailed_secret(email)
    assert new_secret not in response.content.decode()  # staff never see it
    assert customer_api(new_secret).get("/customer/job").json()["reference"] == job.reference
