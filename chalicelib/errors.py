"""Domain errors. Services raise these; the API edge (api/common.py) maps them to HTTP answers."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra


class ValidationError(DomainError):
    code = "VALIDATION"


class BadFileError(DomainError):
    code = "BAD_FILE"


class UnauthenticatedError(DomainError):
    status, code = 401, "UNAUTHENTICATED"


class ForbiddenError(DomainError):
    status, code = 403, "FORBIDDEN"


class DisabledError(DomainError):
    status, code = 403, "DISABLED"



class NotFoundError(DomainError):
    status, code = 404, "NOT_FOUND"


class ConflictError(DomainError):
    status, code = 409, "CONFLICT"


class DuplicateError(ConflictError):
    code = "DUPLICATE"


class StaleError(DomainError):
    status, code = 409, "STALE"


class HasStaffError(DomainError):
    status, code = 409, "HAS_STAFF"


class TooLargeError(DomainError):
    status, code = 413, "TOO_LARGE"


class RateLimitedError(DomainError):
    status, code = 429, "RATE_LIMITED"


class SmsUnavailableError(DomainError):
    """The SMS provider could not be used, or refused the message: no code went out (integrations/sms.py)."""
    status, code = 503, "SMS_UNAVAILABLE"


class KeyUnavailableError(DomainError):
    """The person-key ring could not be read or is malformed: no ID number can be matched now
    (services/common/keyring.py). Nothing is written; the caller may retry."""
    status, code = 503, "PERSON_KEY_UNAVAILABLE"


class SecretUnavailableError(DomainError):
    """The stage's app secret could not be read from Secrets Manager (services/common/stage_secrets.py):
    nothing keyed by it (an SMS code, an audit actor) can be made or checked now; the caller may retry."""
    status, code = 503, "SECRET_UNAVAILABLE"
