"""批量导入 of enterprises (§2.1): validate every row, save the valid ones, return the rest with 异常信息.

Rows are grouped by identity (主体名称 within 所属镇街). The last row of a group wins; the group creates
one enterprise if none exists (earlier rows of the group count as updates) or updates the existing one.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from pynamodb.exceptions import PutError, PynamoDBException

from chalicelib.config import settings
from chalicelib.errors import ConflictError, ValidationError
from chalicelib.rules.clock import now
from chalicelib.services.health import roster
from chalicelib.services.registry import enterprises
from chalicelib.services.jobs import imports
from chalicelib.services.identity.auth import Principal
from chalicelib.services.registry.enterprise_schema import EnterpriseIn, parse_enterprise
from chalicelib.store.models import Enterprise
from chalicelib.workbooks.columns import ENTERPRISE_HEADER_ALIASES, FAILURE_COLUMN, ROW_COLUMN, enterprise_extra_fields, enterprise_labels
from chalicelib.workbooks.reader import cell_text, is_blank, open_sheet

log = logging.getLogger(__name__)
KIND = "enterprises"
REQUIRED = ("category", "name", "town", "head_name", "head_phone", "address")
WRITE_ATTEMPTS = 3
# Rows one workbook may have: an enterprise costs a claimed name and a conditional put, ~110 a second on
# the embedded stack (docs/performance.md, 5,000 in 45 s), so 20,000 take ~3 of one worker invocation's 15
# minutes, with room for a slower table; a district has hundreds, a bureau of a city thousands.
MAX_ROWS = 20_000


def process(principal: Principal, data: bytes, progress=None) -> imports.Outcome:
    aliases = {**ENTERPRISE_HEADER_ALIASES, **{f"extra.{k}": (v,) for k, v in enterprise_extra_fields().items()}}
    sheet = open_sheet(data, aliases, required=REQUIRED, max_rows=MAX_ROWS)
    outcome = imports.Outcome(failure_headers=[*sheet.headers, FAILURE_COLUMN, ROW_COLUMN])
    labels = enterprise_labels()
    groups: dict[str, list[tuple[list[object], EnterpriseIn]]] = {}
    for row_number, cells in sheet.rows:
        if is_blank(cells):
            continue
        outcome.total += 1
        values = {f: cell_text(cells[c]) if c < len(cells) else "" for f, c in sheet.columns.items()}
        record = {f: v for f, v in values.items() if not f.startswith("extra.")}
        record["extra"] = {f[6:]: v for f, v in values.items() if f.startswith("extra.")}
        try:
            row = parse_enterprise(record)
        except ValidationError as exc:
            outcome.failures.append((cells, " ".join(f"列为“{labels.get(f, f)}”，{m}！" for f, m in exc.fields.items()),
                                     row_number))
            continue
        refusal = principal.scope.write_refusal(category=row.category, town=row.town)
        if refusal:
            outcome.failures.append((cells, f"{refusal}！", row_number))
            continue
        groups.setdefault(enterprises.identity_key(row.town, row.name), []).append((cells, row, row_number))

    existing = enterprises.find_by_identity(groups)
    with ThreadPoolExecutor(settings().import_writers) as pool:
        results = list(pool.map(lambda item: _apply_with_retry(principal, item[0], item[1], existing.get(item[0])),
                                groups.items()))
    for (key, rows), problem in zip(groups.items(), results):
        if problem == "created":
            outcome.created += 1
            outcome.updated += len(rows) - 1
        elif problem == "updated":
            outcome.updated += len(rows)
        else:
            outcome.failures.extend((cells, problem, row_number) for cells, _, row_number in rows)
    written = [rows[-1][1] for (key, rows), problem in zip(groups.items(), results) if problem in ("created", "updated")]
    roster.mark({(row.category, row.town) for row in written})  # 主体数量 (a moved one marks its old place itself)
    return outcome


def _apply_with_retry(principal: Principal, key: str, rows, current: Enterprise | None) -> str:
    """A write that keeps failing for a reason other than the data ends as a failure row (the rest of
    the workbook still imports, and the row can be imported again), never as a half-finished job."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return _apply(principal, key, rows, current)
        except PynamoDBException:
            log.warning("write of %s failed (attempt %d)", key, attempt + 1, exc_info=True)
            time.sleep(0.2 * (attempt + 1))
    return "系统繁忙，该行未能保存，请稍后重新导入该行！"


def _apply(principal: Principal, key: str, rows, current: Enterprise | None) -> str:
    """Write the group's last row. Returns "created", "updated" or the 异常信息 for all its rows."""
    _, values, _ = rows[-1]
    stamp = now()
    if current is not None:
        if not principal.scope.writes(category=current.category, town=current.town):
            return "该企业已由其他单位登记，不在您的管理范围内，无法更新！"
        refusal = principal.scope.write_refusal(category=values.category, town=values.town)
        if refusal:
            return f"{refusal}，无法更新！"
        old_scope, old_head = (current.category, current.town), current.head_phone
        enterprises.assign(current, values)
        current.updated_at = stamp
        try:
            current.save()
        except PutError:
            return "该企业正在被他人修改，请稍后重新导入该行！"
        enterprises.moved(current, old_scope, old_head)
        return "updated"
    try:
        enterprises.insert(enterprises.build(principal, values))
    except ConflictError:
        return "该企业刚被他人登记，请重新导入该行！"
    return "created"


