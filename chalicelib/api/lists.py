"""Route: /api/lists — the reference lists every screen needs."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import route
from chalicelib.rules import catalog, geography

bp = Blueprint(__name__)


@route(bp, "GET", "/api/lists")
def lists(principal):
    return {
        "towns": list(geography.towns()),
        "districts": [{"name": d, "towns": list(geography.towns_of(d))} for d in geography.districts()],
        "area": geography.current().area,
        "categories": [{
            "code": c.code, "name": c.name, "department": c.department, "rule": c.rule,
            "enterprise_fields": [{"key": f.key, "label": f.label, "required": f.required} for f in c.enterprise_fields],
            "staff_fields": [{"key": f.key, "label": f.label, "required": f.required} for f in c.staff_fields],
        } for c in catalog.CATEGORIES],
        "person_categories": list(catalog.PERSON_CATEGORIES),
        "residence_types": list(catalog.RESIDENCE_TYPES),
        "roles": [{"code": code, "label": label} for code, label in catalog.ROLE_LABELS.items()],
    }
