"""What a notification email says about the bureau: its row, as admins edit it on the desk."""

from printdesk.catalogue.models import Bureau
from printdesk.notifications.models import Notification
from printdesk.notifications.sender import render


def test_it_signs_with_the_bureaus_name_and_address_and_sets_reply_to(make_job):
    Bureau.objects.update_or_create(
        pk=Bureau.SINGLETON,
        defaults={"name": "Layer Works", "address": "1 Kiln Lane", "reply_to": "desk@layer.test"},
    )
    make_job()
    email = render(Notification.objects.get(audience="customer"))
    assert "Layer Works\n1 Kiln Lane" in email.body
    assert email.reply_to == ["desk@layer.test"]


def test_it_sets_no_reply_to_when_the_bureau_has_none(make_job):
    make_job()
    email = render(Notification.objects.get(audience="customer"))
    assert email.reply_to == []
