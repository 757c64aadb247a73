import pytest
from django.contrib.auth.models import AnonymousUser

from printdesk.jobs import actions
from printdesk.jobs.actions import Actor
from printdesk.jobs.errors import NotAllowed
from printdesk.jobs.lifecycle import ActorKind, JobState
from tests.jobs.helpers import refused


def test_staff_users_act_as_operators(operator):
    assert Actor.staff(operator) == Actor(ActorKind.OPERATOR, operator)


def test_superusers_act_as_admins(admin):
    assert Actor.staff(admin).kind == ActorKind.ADMIN


@pytest.mark.parametrize("who", ["stranger_user", "deactivated_operator"])
def test_a_non_staff_or_deactivated_user_cannot_act_for_the_bureau(make_job, request, who):
    user = request.getfixturevalue(who)
    job, _ = make_job(JobState.SUBMITTED)
    with refused(job, NotAllowed):
        actions.decline_request(job=job, actor=Actor.staff(user), reason="No")


def test_an_anonymous_visitor_cannot_act_for_the_bureau():
    with pytest.raises(NotAllowed):
        Actor.staff(AnonymousUser())


def test_an_operator_deactivated_after_logging_in_is_refused(operator):
    Actor.staff(operator)
    operator.is_active = False
    with pytest.raises(NotAllowed):
        Actor.staff(operator)
