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


class ProfileDisabled(DomainError):
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


# The owner's rules (app.management), for the back-office page and the CLI.


class InvalidInput(DomainError):
    """What a person typed, refused: ``errors`` holds the messages by field, which a page
    shows next to the field and the CLI prints."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class NameTaken(InvalidInput):
    def __init__(self):
        super().__init__({"name": ["This name is already taken."]})


class StoreNotFound(DomainError):
    pass


class ManagerNotFound(DomainError):
    pass


class ManagerDisabled(DomainError):
    pass
