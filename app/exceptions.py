"""What the rules refuse, as exceptions that know nothing of HTTP.

The rules (sessions, people and their passwords, stores) raise these, and so do the API's own
checks (idempotency, store scope: app/api) and the database machinery (busy, missing,
read-only); each caller decides what they mean to its user. For the API,
``app.errors.ANSWERS`` maps each class (or its parent) to a status, a message and any headers,
and the OpenAPI document is built from that same table.
"""


class DomainError(Exception):
    """A request the rules refuse; changes nothing."""


class StoreIdRequired(DomainError):
    pass


class StoreAccessDenied(DomainError):
    pass


class TokenScopeDenied(DomainError):
    """A follower token (head office's) on a route other than the journal."""


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


class UnknownReason(DomainError):
    """A pay-in's or pay-out's reason that is not in the store's list."""


class DrawerWouldGoNegative(DomainError):
    """A drop of more cash than the drawer should hold."""


class UnknownTender(DomainError):
    """A tender code the store does not have (cash it always has)."""


class TenderDisabled(DomainError):
    """The owner disabled the tender: no new movement names it."""


class UnknownDenomination(DomainError):
    """A cash count names a value that is not one of the store's notes and coins."""


class AlreadyOnSession(DomainError):
    """A cashier joins a session it is on already (holding its drawer or attending)."""


class OnAnotherSession(DomainError):
    """A cashier is on another open session (opened by it, held or attended): a profile is
    on one open session at most."""


class NotOnSession(DomainError):
    """A movement's attendant, or a cashier leaving, is not on the session now."""


class HolderCannotLeave(DomainError):
    """The drawer's holder leaves by handing it over (or closing the session)."""


class DrawerHeldByAnother(DomainError):
    """The profile opened the session but handed its drawer over: its holder closes it."""


class InvalidIdempotencyKey(DomainError):
    pass


class IdempotencyKeyReused(DomainError):
    pass


# The owner's rules (app.stores, app.people), for the back-office page and the CLI.


class InvalidInput(DomainError):
    """What a person typed, refused: ``errors`` holds the messages by field, which a page
    shows next to the field and the CLI prints."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class NameTaken(InvalidInput):
    def __init__(self, field: str = "name"):
        super().__init__({field: [f"This {field} is already taken."]})


class StoreNotFound(DomainError):
    pass


class ManagerNotFound(DomainError):
    pass


class UserNotFound(DomainError):
    """No head-office user has this name (app/headoffice/users.py)."""


class AuthorizationMissing(DomainError):
    pass


class TokenInvalid(DomainError):
    pass


class TokenExpired(DomainError):
    pass


class TokenRevoked(DomainError):
    pass


class TokenNotKnown(DomainError):
    """Signed with this box's secret but absent from its token table: the database was made
    anew, or restored from before the token was issued."""


class DatabaseUnavailable(DomainError):
    """The database cannot serve (its file missing, replaced, read-only, full, corrupt); the
    reason goes to the log, not to the caller."""


class DatabaseMissing(DatabaseUnavailable):
    pass


class DatabaseReadOnly(DatabaseUnavailable):
    pass


class DatabaseCorrupt(DatabaseUnavailable):
    pass


class SchemaNotAtHead(DatabaseUnavailable):
    def __init__(self, at: str | None, expected: str):
        super().__init__(at, expected)
        self.at = at or "no revision"
        self.expected = expected


class DatabaseBusy(DomainError):
    """Another writer held the lock for longer than the busy timeout: worth a retry soon."""


class ManagerDisabled(DomainError):
    pass


class ClosingNotFound(DomainError):
    pass


class NothingToApprove(DomainError):
    """The closing's difference was within the store's limit, or is approved already."""


class PeriodAlreadyClosed(DomainError):
    pass


class PeriodNotEnded(DomainError):
    pass


class PeriodWithoutZ(DomainError):
    """No Z closing in the period: nothing to close."""


# Accounting exports (app.accounting).


class AccountingSettingsMissing(DomainError):
    pass


class AccountingNotConfirmed(DomainError):
    pass


class AccountingSettingsIncomplete(DomainError):
    def __init__(self, missing: list[str]):
        super().__init__(missing)
        self.missing = ", ".join(missing)


class FormatNotForCountry(DomainError):
    def __init__(self, format: str, country: str):
        super().__init__(format, country)
        self.format, self.country = format.upper(), country


class NoZInRange(DomainError):
    """No Z closing in the business days asked for: no file to write."""


class NothingToPost(DomainError):
    """The days' Z closings moved no money (no-sales only): a ledger file would have no line."""


class PostingsUnbalanced(DomainError):
    """A Z whose postings do not balance, or disagree with the Z: nothing is written."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
