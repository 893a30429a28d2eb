"""What the rules refuse, as exceptions that know nothing of HTTP.

The rules (service, passwords, idempotency, store scope) raise these; each caller decides what
they mean to its user. For the API, ``app.errors.ANSWERS`` maps each class to a status, a
message and any headers, and the OpenAPI document is built from that same table.
"""


class DomainError(Exception):
    """A request the rules refuse; changes nothing."""


class StoreIdRequired(DomainError):
    pass


class StoreAccessDenied(DomainError):
    pass


class ProfileNotFound(DomainError):
    pass


class InvalidPassword(DomainError):
    pass


class TooManyAttempts(DomainError):
    def __init__(self, retry_after_seconds: int):
        super().__init__(retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class SessionAlreadyOpen(DomainError):
    pass


class NoOpenSession(DomainError):
    pass


class SessionNotFound(DomainError):
    pass


class SessionClosed(DomainError):
    pass


class InvalidIdempotencyKey(DomainError):
    pass


class IdempotencyKeyReused(DomainError):
    pass


class ClosingNotFound(DomainError):
    pass


class NothingToApprove(DomainError):
    """The closing's difference was within the store's limit, or is approved already."""
