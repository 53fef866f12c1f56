"""Routes: /api/alerts (告警设置, §2.5)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import json_body, route
from chalicelib.services.compliance import settings

bp = Blueprint(__name__)


@route(bp, "GET", "/api/alerts/settings/{category}")
def get_settings(principal, category):
    return settings.get(principal, category)


@route(bp, "PUT", "/api/alerts/settings/{category}")
def put_settings(principal, category):
    return settings.update(principal, category, json_body(bp))
