"""Why an action was refused. Pages and the API turn these into messages and status codes.

A refused action has changed nothing: each is raised inside the action's transaction.
"""


class ActionError(Exception):
    status_code = 400
    code = "refused"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(ActionError):
    """This actor may not do this (403)."""

    status_code = 403
    code = "not_allowed"


class Conflict(ActionError):
    """The job is not in a state where this applies, or changed under the caller (409)."""

    status_code = 409
    code = "conflict"


class JobChanged(Conflict):
    """Someone else acted on the job since the caller looked at it."""

    code = "job_changed"


class InvalidInput(ActionError):
    """The request itself is wrong: a missing reason, a bad quantity (422)."""

    status_code = 422
    code = "invalid"
