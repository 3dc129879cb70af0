"""Business errors raised by services. Views turn them into field or page messages."""


class ServiceError(Exception):
    """A rule refused the action. ``message`` is a TranslationString; ``field`` names the
    form field it belongs to, when there is one."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(ServiceError):
    """The action is not allowed in the current state or for this person."""


class InvalidInput(ServiceError):
    """The input breaks a rule that a schema could not express."""


class Conflict(ServiceError):
    """The action collides with existing data (a duplicate, a stale version)."""
