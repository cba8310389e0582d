"""The community administrator's dashboard (数据驾驶舱) and the outreach days it counts, as operations.

Only the administrator of a community sees its dashboard (the route's rule); the figures are counts
over the caller's own community. Outreach days (专家下沉) are recorded here because no other
capability keeps them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.billing.rules import CsvFile, parse_month
from server.billing.service import checked_month
from server.community.directory import community_of, institution_of, member_of
from server.community.models import Community, Institution, Role
from server.core.clock import Clock
from server.core.errors import Conflict, Invalid
from server.core.text import trimmed_text
from server.dashboard.indicators import Dashboard, dashboard
from server.dashboard.models import OutreachDay

SPECIALIST_ROLES = frozenset({Role.READER, Role.EXPERT})
MAX_NOTE = 4000


def dashboard_month(db: Session, actor: Actor, clock: Clock, month: str | None) -> Dashboard:
    """Every indicator of the caller's community for `month` (this month by default); audited."""
    month = checked_month(month, clock)
    community = db.get(Community, community_of(actor))
    assert community is not None  # the caller's institution belongs to it
    board = dashboard(db, community, month)
    actor.audit(
        db, "dashboard_read", resource_type="community", resource_id=community.id, detail={"month": month}
    )
    return board


CSV_HEADER = ["指标代码 key", "指标 indicator", "分组 breakdown", "项目 item", "数值 value", "单位 unit",
              "目标 target", "分子 numerator", "分母 denominator", "记录数 records"]  # fmt: skip


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def dashboard_csv(board: Dashboard) -> str:
    """One row per indicator (breakdown 合计 total) and one per chart bar, with a BOM for Chinese Excel."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["医共体 community", board.community.name, "月份 month", board.month])
    writer.writerow(CSV_HEADER)
    for ind in board.indicators:
        name = f"{ind.name.zh} {ind.name.en}"
        writer.writerow([ind.key, name, "合计 total", "", _number(ind.value), ind.unit, _number(ind.target),
                         _number(ind.numerator), _number(ind.denominator), ""])  # fmt: skip
        for series in ind.series:
            for point in series.points:
                writer.writerow([ind.key, name, f"{series.name.zh} {series.name.en}", point.label,
                                 _number(point.value), ind.unit, "", "", "", _number(point.count)])  # fmt: skip
    return out.getvalue()


def export_dashboard(db: Session, actor: Actor, clock: Clock, month: str | None) -> CsvFile:
    """The month's indicators as CSV, headers in Chinese and English; audited as a read."""
    board = dashboard_month(db, actor, clock, month)
    return CsvFile(filename=f"dashboard-{board.month}.csv", text=dashboard_csv(board))


def list_outreach(db: Session, actor: Actor, clock: Clock, month: str | None) -> list[OutreachDay]:
    """The month's outreach days at the community's institutions (this month by default)."""
    start, end = parse_month(checked_month(month, clock))
    return list(
        db.scalars(
            select(OutreachDay)
            .join(Institution, Institution.id == OutreachDay.host_institution_id)
            .where(
                Institution.community_id == community_of(actor),
                OutreachDay.day >= start.date(),
                OutreachDay.day < end.date(),
            )
            .order_by(OutreachDay.day, OutreachDay.id)
        )
    )


@dataclass(frozen=True)
class NewOutreachDay:
    specialist_id: int
    host_institution_id: int
    day: date
    note: str | None = None


def record_outreach(db: Session, actor: Actor, clock: Clock, new: NewOutreachDay) -> OutreachDay:
    """Record a day a specialist (reader or expert) worked at another institution of the community;
    `Conflict` if that specialist's day is recorded already."""
    community_id = community_of(actor)
    specialist = member_of(db, community_id, new.specialist_id, "specialist_id", SPECIALIST_ROLES)
    host = institution_of(db, community_id, new.host_institution_id, "host_institution_id")
    if host.id == specialist.institution_id:
        raise Invalid(
            "invalid_field", "an outreach day is spent at another institution", field="host_institution_id"
        )
    outreach = OutreachDay(
        specialist_id=specialist.id,
        host_institution_id=host.id,
        day=new.day,
        note=trimmed_text("note", new.note, MAX_NOTE),
        created_by_id=actor.person.id,
    )
    try:
        with db.begin_nested():  # (the savepoint begins with a flush: add the row inside it)
            db.add(outreach)
            db.flush()
    except IntegrityError:
        raise Conflict(
            "conflict", f"{specialist.display_name}'s outreach on {new.day.isoformat()} is recorded already"
        ) from None
    actor.audit(db, "outreach_day_record", resource_type="outreach_day", resource_id=outreach.id)
    db.refresh(outreach)
    return outreach
