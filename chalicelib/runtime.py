"""Which Lambda function this code is running as ("api_handler", "on_upload", …): set by the app's
handlers and the HTTP middleware, read by whoever needs to know — the test suite checks every AWS call
against that function's IAM policy (infra/policies.py, tests/policy_check.py)."""
from __future__ import annotations

import contextvars
from contextlib import contextmanager

FUNCTION: contextvars.ContextVar[str] = contextvars.ContextVar("function", default="")


@contextmanager
def running(name: str):
    token = FUNCTION.set(name)
    try:
        yield
    finally:
        FUNCTION.reset(token)
