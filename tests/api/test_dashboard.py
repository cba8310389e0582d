"""The dashboard's numbers against direct SQL counts, over a month of work played through the API.

A community of its own (so no other test's cases count) lives through March and April 2026 by the
app's clock: requests from its villages, township and county hospital, reads at its three centres,
urgent cases that run late, consults kept in the county or sent to a tertiary expert, teaching
sessions and outreach days. Each dashboard figure is then compared with a PostgreSQL query written
here from the definitions (months cut in Beijing time by PostgreSQL itself), and the main figures
with what the played month says they must be.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from server.access.actor import Actor
from server.auth.passwords import hash_password
from server.community.models import CentreKind, Community, Institution, ReadingCentre, Role, Tier, User
from server.core.clock import SYSTEM_CLOCK, FixedClock
from server.core.db import transaction
from server.referrals.models import Referral, ReferralDirection, ReferralState
from server.tools.demo.billing import load_catalogue
from tests.support.accounts import DEMO_PASSWORD
from tests.support.people import Person, ok, people

CST = ZoneInfo("Asia/Shanghai")
APRIL, MARCH = "2026-04", "2026-03"


def cst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CST)


# key: (name, tier); the county hospital runs the three reading centres.
INSTITUTIONS = {
    "county": ("驾驶舱县人民医院", Tier.COUNTY_HOSPITAL),
    "tertiary": ("驾驶舱市第一医院", Tier.TERTIARY_HOSPITAL),
    "township": ("驾驶舱南乡卫生院", Tier.TOWNSHIP_CENTRE),
    "east": ("驾驶舱东村卫生室", Tier.VILLAGE_CLINIC),
    "west": ("驾驶舱西村卫生室", Tier.VILLAGE_CLINIC),
}
# key: (role, institution, centre kind)
USERS = {
    "east_doc": (Role.REQUESTER, "east", None),
    "west_doc": (Role.REQUESTER, "west", None),
    "township_doc": (Role.REQUESTER, "township", None),
    "county_doc": (Role.REQUESTER, "county", None),
    "radiologist": (Role.READER, "county", CentreKind.IMAGING),
    "ecgreader": (Role.READER, "county", CentreKind.ECG),
    "pathologist": (Role.READER, "county", CentreKind.PATHOLOGY),
    "dispatcher": (Role.DISPATCHER, "county", CentreKind.IMAGING),
    "county_expert": (Role.EXPERT, "county", None),
    "tertiary_expert": (Role.EXPERT, "tertiary", None),
    "admin": (Role.ADMIN, "county", None),
    "trainee_township": (Role.TRAINEE, "township", None),
    "trainee_east": (Role.TRAINEE, "east", None),
    "auditor": (Role.AUDITOR, "county", None),
}
READER_OF = {"imaging": "radiologist", "ecg": "ecgreader", "pathology": "pathologist"}
CONTENT = {
    "imaging": {"findings": "双肺纹理清晰。", "impression": "未见明显异常。"},
    "ecg": {"rhythm": "窦性心律", "heart_rate": 76, "interpretation": "正常心电图"},
    "pathology": {"macroscopic": "灰白组织一块。", "microscopic": "慢性炎症。", "diagnosis": "慢性胃炎。"},
    "consult": {"opinion": "同意目前诊断。", "plan": "继续治疗，两周后复诊。"},
    "mdt": {"opinion": "多学科讨论意见。", "plan": "手术治疗。"},
}


@dataclass(frozen=True)
class Spec:
    """One request's life: who sends what when, and how it ends."""

    requester: str
    kind: str
    submitted: datetime  # when it was (last) submitted
    report_after: timedelta | None  # None: never reported
    urgency: str = "routine"
    expert: str | None = None  # a consult addressed to this expert instead of a centre
    escalate: bool = False  # the reader asks the tertiary expert for a second opinion
    first_submitted: datetime | None = None  # returned from the queue once, first sent then
    cancel: bool = False
    refer_up_to: str | None = None  # the requester refers the patient up 5 minutes after the report


H, M = timedelta(hours=1), timedelta(minutes=1)
SPECS = [
    Spec("east_doc", "imaging", cst(3, 31, 23, 40), 30 * M),  # a March request reported at 00:10 on 1 April
    Spec("east_doc", "imaging", cst(3, 31, 20), 3 * H + 50 * M, refer_up_to="township"),  # all March
    Spec("east_doc", "imaging", cst(4, 2, 8), 90 * M, first_submitted=cst(3, 30, 10)),  # a March request
    Spec("east_doc", "imaging", cst(4, 2, 9), 2 * H),
    Spec("east_doc", "ecg", cst(4, 2, 10), 40 * M, urgency="urgent"),
    Spec("east_doc", "ecg", cst(4, 3, 14), 3 * H, urgency="urgent"),  # overdue
    Spec("west_doc", "imaging", cst(4, 5, 8, 30), 26 * H, refer_up_to="county"),
    Spec("west_doc", "pathology", cst(4, 6, 9), 50 * H),
    Spec("west_doc", "imaging", cst(4, 7, 22), None, urgency="urgent"),  # overdue, still open
    Spec("township_doc", "imaging", cst(4, 8, 10), 30 * H, escalate=True),  # out of the county
    Spec("township_doc", "ecg", cst(4, 9, 11), 20 * M),
    Spec("township_doc", "consult", cst(4, 10, 15), 5 * H, expert="tertiary_expert"),  # out of the county
    Spec("township_doc", "consult", cst(4, 11, 9), 3 * H, expert="county_expert", refer_up_to="tertiary"),
    Spec("county_doc", "imaging", cst(4, 12, 10), 1 * H),
    Spec("county_doc", "pathology", cst(4, 13, 8), 2 * H + 30 * M, urgency="urgent"),  # overdue
    Spec("county_doc", "mdt", cst(4, 14, 9), 24 * H, expert="county_expert"),  # billed by no catalogue entry
    Spec("township_doc", "imaging", cst(4, 15, 9), 110 * M, urgency="urgent"),  # just in time
    Spec("west_doc", "imaging", cst(4, 16, 10), None, cancel=True),
    Spec("west_doc", "ecg", cst(4, 20, 10), None),
    Spec("west_doc", "ecg", cst(4, 30, 23, 30), 50 * M),  # an April request reported in May
]
# What April must show, counted from SPECS by hand.
APRIL_REQUESTS, APRIL_REPORTED, APRIL_OVERDUE = 17, 15, 3
APRIL_OUT_OF_COUNTY = 3  # the escalated read, the tertiary expert's consult, the patient referred there
APRIL_UP, APRIL_DOWN = 2, 1
APRIL_SERVICES, APRIL_GRASSROOTS_SERVICES = (
    14,
    12,
)  # every April report but the MDT; two from the county hospital


@dataclass(frozen=True)
class Built:
    community_id: int
    usernames: dict[str, str]
    user_ids: dict[str, int]
    institution_ids: dict[str, int]


@dataclass(frozen=True)
class Played:
    built: Built
    people: dict[str, Person]

    @property
    def community_id(self) -> int:
        return self.built.community_id


def build_community(db: Session) -> Built:
    """A community of its own, with the demo catalogue, so that no other test's records count in it."""
    tag = uuid.uuid4().hex[:6]
    community = Community(name=f"驾驶舱测试医共体-{tag}")
    db.add(community)
    db.flush()
    load_catalogue(db, Actor.system(), SYSTEM_CLOCK, community.id)
    institutions = {key: Institution(community=community, name=name, tier=tier)
                    for key, (name, tier) in INSTITUTIONS.items()}  # fmt: skip
    db.add_all(institutions.values())
    centres = {
        kind: ReadingCentre(institution=institutions["county"], kind=kind, name=f"驾驶舱{kind.value}中心")
        for kind in CentreKind
    }
    db.add_all(centres.values())
    password_hash = hash_password(DEMO_PASSWORD)
    users = {
        key: User(
            username=f"dash-{key}-{tag}",
            display_name=f"{key}医生",
            password_hash=password_hash,
            role=role,
            institution=institutions[where],
            centre=centres[kind] if kind else None,
        )
        for key, (role, where, kind) in USERS.items()
    }
    db.add_all(users.values())
    db.flush()
    return Built(
        community.id,
        usernames={key: user.username for key, user in users.items()},
        user_ids={key: user.id for key, user in users.items()},
        institution_ids={key: institution.id for key, institution in institutions.items()},
    )


PATIENT = {"name": "驾驶舱患者", "sex": "F", "birth_date": "1958-03-14", "national_id": "110101195803141228"}


def play(spec: Spec, who: dict[str, Person], built: Built, clock: FixedClock) -> None:
    requester, ids = who[spec.requester], built.user_ids
    first = spec.first_submitted or spec.submitted
    clock.set(first - 10 * M)
    case_id = requester.new_case(spec.kind, spec.urgency, patient=PATIENT)
    clock.set(first)
    ok(requester.act(case_id, "submit", **({"expert": ids[spec.expert]} if spec.expert else {})))
    reader = who[spec.expert or READER_OF[spec.kind]]
    if spec.first_submitted:
        clock.set(first + 2 * H)
        ok(reader.act(case_id, "return", note="请补充病史"))
        clock.set(spec.submitted)
        ok(requester.act(case_id, "resubmit"))
    if spec.cancel:
        clock.set(spec.submitted + H)
        ok(requester.act(case_id, "cancel"))
        return
    late = spec.urgency == "urgent" and (spec.report_after is None or spec.report_after > 2 * H)
    if spec.report_after is not None:
        clock.set(spec.submitted + 5 * M)
        if not spec.expert:
            ok(reader.act(case_id, "claim"))
        ok(reader.act(case_id, "start_review"))
        ok(reader.put(f"/api/cases/{case_id}/report", {"content": CONTENT[spec.kind]}))
        if spec.escalate:
            ok(reader.act(case_id, "escalate", expert=ids["tertiary_expert"]))
            clock.set(spec.submitted + spec.report_after / 2)
            ok(who["tertiary_expert"].act(case_id, "answer", note="同意，建议随访"))
    if late:  # a read of the case at 2 h 1 min flags it, as the worker's sweep would
        clock.set(spec.submitted + 2 * H + M)
        assert ok(requester.get(f"/api/cases/{case_id}"))["overdue"]
    if spec.report_after is not None:
        clock.set(spec.submitted + spec.report_after)
        ok(reader.act(case_id, "sign"))
    if spec.refer_up_to:
        clock.advance(minutes=5)
        letter = {"case_id": case_id, "to_institution_id": built.institution_ids[spec.refer_up_to],
                  "reason": "需上级医院进一步诊治", "diagnosis": "待查"}  # fmt: skip
        referred = requester.post("/api/referrals", letter)
        assert referred.status_code == 201, referred.text


def refer_down(db: Session, built: Built, up_to: str, at: datetime) -> None:
    """A referral down answering the referral up to `up_to`, as the referral office would write it."""
    up = db.scalars(
        select(Referral).where(
            Referral.to_institution_id == built.institution_ids[up_to],
            Referral.direction == ReferralDirection.UP,
        )
    ).one()
    db.add(
        Referral(
            direction=ReferralDirection.DOWN,
            state=ReferralState.SENT,
            case_id=up.case_id,
            parent_id=up.id,
            patient_id=up.patient_id,
            from_institution_id=up.to_institution_id,
            to_institution_id=up.from_institution_id,
            created_by_id=built.user_ids["county_expert"],
            created_at=at,
            updated_at=at,
            diagnosis="好转",
            discharge_summary="病情稳定，转回基层随访。",
        )
    )


def record_teaching_and_outreach(admin: Person, built: Built) -> None:
    ids = built.user_ids
    sessions = [  # kind, host, held (None: not held), attendees
        ("ward_round", "county_expert", cst(4, 8, 14, 5), ["trainee_township", "trainee_east", "east_doc"]),
        ("lecture", "tertiary_expert", cst(4, 22, 19), ["trainee_township"]),
        ("bedside", "county_expert", cst(3, 31, 23, 30), ["trainee_east"]),
        ("surgical_demo", "tertiary_expert", None, []),
    ]
    for kind, host, held, attendees in sessions:
        body: dict[str, Any] = {"title": f"{kind} 教学", "kind": kind, "host_id": ids[host],
                                "scheduled_at": (held or cst(4, 28, 9)).isoformat()}  # fmt: skip
        if held:
            body["held_at"] = held.isoformat()
        created = admin.post("/api/teaching-sessions", body)
        assert created.status_code == 201, created.text
        for trainee in attendees:
            assert held is not None  # only held sessions have attendees
            attended = admin.put(
                f"/api/teaching-sessions/{created.json()['id']}/attendance/{ids[trainee]}",
                {"joined_at": held.isoformat(), "left_at": (held + H).isoformat()},
            )
            assert attended.status_code == 200, attended.text
    days = [
        ("tertiary_expert", "township", "2026-04-10"),
        ("tertiary_expert", "east", "2026-04-11"),
        ("county_expert", "township", "2026-04-10"),
        ("radiologist", "west", "2026-03-31"),
        ("county_expert", "township", "2026-05-01"),
    ]
    for specialist, host, day in days:
        body = {
            "specialist_id": ids[specialist],
            "host_institution_id": built.institution_ids[host],
            "day": day,
        }
        assert admin.post("/api/outreach-days", body).status_code == 201


@pytest.fixture(scope="module")
def played(app: Starlette, session_factory: sessionmaker[Session]) -> Iterator[Played]:
    with transaction(session_factory) as db:
        built = build_community(db)
    clients = people(app)
    sign_in_as = next(clients)
    who = {key: sign_in_as(username) for key, username in built.usernames.items()}
    clock = FixedClock(cst(3, 1, 0))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.state, "clock", clock, raising=False)
        for spec in SPECS:
            play(spec, who, built, clock)
    with transaction(session_factory) as db:  # down referrals belong to the referral module's own lifecycle
        refer_down(db, built, "tertiary", cst(4, 20, 10))
        refer_down(db, built, "county", cst(5, 3, 10))
    record_teaching_and_outreach(who["admin"], built)
    yield Played(built, who)
    next(clients, None)  # the generator signs everyone out and closes their clients


# ---- The figures, straight from the tables with PostgreSQL (months cut in Beijing time there) ----

IN_MONTH = "to_char(({column}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = :month"
OUTSIDE = "(SELECT id FROM institutions WHERE tier = 'tertiary_hospital' OR community_id <> :community)"


def rows(db: Session, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in db.execute(text(sql), params)]


def sql_figures(db: Session, community: int, month: str) -> dict[str, Any]:
    """Every figure of the dashboard, keyed like `dashboard_figures`, each from one query."""
    p = {"community": community, "month": month}
    members = "(SELECT id FROM institutions WHERE community_id = :community)"
    first_submit = "(SELECT min(e.at) FROM case_events e WHERE e.case_id = c.id AND e.action = 'submit')"
    requests = rows(db, f"""SELECT c.institution_id, c.kind, count(*) FROM cases c
        WHERE c.institution_id IN {members} AND {IN_MONTH.format(column=first_submit)}
        GROUP BY 1, 2""", **p)  # fmt: skip
    turnaround = rows(db, f"""SELECT coalesce(c.centre_id::text, 'expert'), count(*),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.reported_at - c.submitted_at) / 60),
            percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM c.reported_at - c.submitted_at) / 60)
        FROM cases c WHERE c.institution_id IN {members} AND {IN_MONTH.format(column="c.reported_at")}
        GROUP BY ROLLUP (1)""", **p)  # fmt: skip
    overdue = rows(db, f"""SELECT coalesce(c.centre_id::text, 'expert'), count(*) FROM cases c
        WHERE c.institution_id IN {members} AND c.urgency = 'urgent' AND {IN_MONTH.format(column="c.overdue_at")}
        GROUP BY 1""", **p)  # fmt: skip
    county = rows(db, f"""SELECT c.kind, count(*), count(*) FILTER (WHERE NOT (
                coalesce(c.escalated_to_id IN (SELECT id FROM users WHERE institution_id IN {OUTSIDE}), false)
                OR EXISTS (SELECT 1 FROM reports r WHERE r.case_id = c.id AND r.status = 'signed'
                           AND r.signed_institution_id IN {OUTSIDE})
                OR EXISTS (SELECT 1 FROM referrals f WHERE f.case_id = c.id AND f.direction = 'up'
                           AND f.to_institution_id IN {OUTSIDE} AND f.state NOT IN ('declined', 'cancelled'))))
        FROM cases c WHERE c.institution_id IN {members} AND {IN_MONTH.format(column="c.reported_at")}
        GROUP BY 1""", **p)  # fmt: skip
    services = rows(db, f"""SELECT b.member_institution_id, i.tier, count(*) FROM billable_items b
        JOIN institutions i ON i.id = b.member_institution_id
        WHERE i.community_id = :community AND {IN_MONTH.format(column="b.completed_at")}
        GROUP BY 1, 2""", **p)  # fmt: skip
    sessions = rows(
        db,
        f"""SELECT kind, count(*) FROM teaching_sessions
        WHERE community_id = :community AND {IN_MONTH.format(column="held_at")} GROUP BY 1""",
        **p,
    )
    attendance = rows(
        db,
        f"""SELECT s.kind, u.institution_id, count(*) FROM teaching_attendance a
        JOIN teaching_sessions s ON s.id = a.session_id JOIN users u ON u.id = a.trainee_id
        WHERE s.community_id = :community AND {IN_MONTH.format(column="s.held_at")} GROUP BY 1, 2""",
        **p,
    )
    referred = rows(
        db,
        f"""SELECT f.direction, f.from_institution_id, t.tier, f.to_institution_id, count(*)
        FROM referrals f JOIN institutions t ON t.id = f.to_institution_id
        WHERE f.case_id IN (SELECT id FROM cases WHERE institution_id IN {members})
          AND {IN_MONTH.format(column="f.created_at")} GROUP BY 1, 2, 3, 4""",
        **p,
    )
    up = [row for row in referred if row[0] == "up"]
    down = [row for row in referred if row[0] == "down"]
    outreach = rows(
        db,
        f"""SELECT host_institution_id, count(*) FROM outreach_days
        WHERE host_institution_id IN {members} AND to_char(day, 'YYYY-MM') = :month GROUP BY 1""",
        **p,
    )

    def total(grouped: list[tuple[Any, ...]], index: int = -1) -> int:
        return sum(row[index] for row in grouped)

    def by(grouped: list[tuple[Any, ...]], key: int) -> dict[str, int]:
        summed: dict[str, int] = {}
        for row in grouped:
            summed[str(row[key])] = summed.get(str(row[key]), 0) + row[-1]
        return summed

    centres = {key: (n, p50, p90) for key, n, p50, p90 in turnaround if key is not None}
    overall = next(((n, p50, p90) for key, n, p50, p90 in turnaround if key is None), (0, None, None))
    grassroots = [row for row in services if row[1] in ("village_clinic", "township_centre")]
    return {
        "requests": total(requests),
        "requests.by_institution": by(requests, 0),
        "requests.by_kind": by(requests, 1),
        "reported": overall[0],
        "turnaround_p50": overall[1],
        "turnaround_p90": overall[2],
        "turnaround_p50.by_centre": {k: (v[1], v[0]) for k, v in centres.items()},
        "turnaround_p90.by_centre": {k: (v[2], v[0]) for k, v in centres.items()},
        "referrals_up": total(up),
        "referrals_up.by_institution": by(up, 1),
        "referrals_up.by_tier": by(up, 2),
        "referrals_down": total(down),
        "referrals_down.by_institution": by(down, 3),
        "urgent_overdue": total(overdue),
        "urgent_overdue.by_centre": by(overdue, 0),
        "county_visit_rate": (total(county, 1), total(county, 2)),
        "county_visit_rate.by_kind": {kind: (within, n) for kind, n, within in county},
        "grassroots_service_share": (total(services), total(grassroots)),
        "grassroots_service_share.by_institution": by(services, 0),
        "teaching_sessions": total(sessions),
        "teaching_sessions.by_kind": by(sessions, 0),
        "teaching_attendance": total(attendance),
        "teaching_attendance.by_kind": by(attendance, 0),
        "teaching_attendance.by_institution": by(attendance, 1),
        "outreach_days": total(outreach),
        "outreach_days.by_institution": by(outreach, 0),
    }


def dashboard_figures(board: dict[str, Any]) -> dict[str, Any]:
    """The same figures as the API gave them (zero bars and empty groups left out, as SQL has none)."""
    ind = {i["key"]: i for i in board["indicators"]}

    def bars(key: str, series: str) -> dict[str, int]:
        [found] = [s for s in ind[key]["series"] if s["key"] == series]
        return {p["key"]: p["value"] for p in found["points"] if p["value"]}

    def percentiles(key: str) -> dict[str, tuple[float, int]]:
        [found] = ind[key]["series"]
        return {p["key"]: (p["value"], p["count"]) for p in found["points"] if p["count"]}

    def ratio(key: str) -> tuple[int, int]:
        assert ind[key]["value"] == (
            round(100 * ind[key]["numerator"] / ind[key]["denominator"], 1)
            if ind[key]["denominator"]
            else None
        )
        return ind[key]["denominator"], ind[key]["numerator"]

    [county_by_kind] = ind["county_visit_rate"]["series"]
    return {
        "requests": ind["requests"]["value"],
        "requests.by_institution": bars("requests", "by_institution"),
        "requests.by_kind": bars("requests", "by_kind"),
        "reported": ind["turnaround_p50"]["denominator"],
        "turnaround_p50": ind["turnaround_p50"]["value"],
        "turnaround_p90": ind["turnaround_p90"]["value"],
        "turnaround_p50.by_centre": percentiles("turnaround_p50"),
        "turnaround_p90.by_centre": percentiles("turnaround_p90"),
        "referrals_up": ind["referrals_up"]["value"],
        "referrals_up.by_institution": bars("referrals_up", "by_institution"),
        "referrals_up.by_tier": bars("referrals_up", "by_tier"),
        "referrals_down": ind["referrals_down"]["value"],
        "referrals_down.by_institution": bars("referrals_down", "by_institution"),
        "urgent_overdue": ind["urgent_overdue"]["value"],
        "urgent_overdue.by_centre": bars("urgent_overdue", "by_centre"),
        "county_visit_rate": ratio("county_visit_rate"),
        "county_visit_rate.by_kind": {
            p["key"]: (round(p["value"] * p["count"] / 100), p["count"])
            for p in county_by_kind["points"]
            if p["count"]
        },
        "grassroots_service_share": ratio("grassroots_service_share"),
        "grassroots_service_share.by_institution": bars("grassroots_service_share", "by_institution"),
        "teaching_sessions": ind["teaching_sessions"]["value"],
        "teaching_sessions.by_kind": bars("teaching_sessions", "by_kind"),
        "teaching_attendance": ind["teaching_attendance"]["value"],
        "teaching_attendance.by_kind": bars("teaching_attendance", "by_kind"),
        "teaching_attendance.by_institution": bars("teaching_attendance", "by_institution"),
        "outreach_days": ind["outreach_days"]["value"],
        "outreach_days.by_institution": bars("outreach_days", "by_institution"),
    }


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    """Percentiles to the dashboard's 0.1 minute."""
    out = dict(figures)
    for key in ("turnaround_p50", "turnaround_p90"):
        out[key] = None if out[key] is None else round(out[key], 1)
        out[f"{key}.by_centre"] = {k: (round(v, 1), n) for k, (v, n) in out[f"{key}.by_centre"].items()}
    return out


def board(admin: Person, month: str) -> dict[str, Any]:
    return ok(admin.get("/api/dashboard", month=month))


@pytest.mark.parametrize("month", [APRIL, MARCH])
def test_every_figure_equals_a_direct_sql_count(
    played, session_factory: sessionmaker[Session], month
) -> None:
    shown = board(played.people["admin"], month)
    assert shown["month"] == month and shown["community"]["id"] == played.community_id
    with session_factory() as db:
        expected = rounded(sql_figures(db, played.community_id, month))
    assert dashboard_figures(shown) == expected


def test_the_played_april_shows_what_was_done(played) -> None:
    ind = {i["key"]: i for i in board(played.people["admin"], APRIL)["indicators"]}
    assert ind["requests"]["value"] == APRIL_REQUESTS
    assert ind["turnaround_p50"]["denominator"] == APRIL_REPORTED
    assert ind["urgent_overdue"]["value"] == APRIL_OVERDUE
    county = ind["county_visit_rate"]
    assert (county["numerator"], county["denominator"]) == (
        APRIL_REPORTED - APRIL_OUT_OF_COUNTY,
        APRIL_REPORTED,
    )
    assert county["value"] == 80.0 and county["target"] == 90
    assert (ind["referrals_up"]["value"], ind["referrals_down"]["value"]) == (APRIL_UP, APRIL_DOWN)
    grassroots = ind["grassroots_service_share"]
    assert (grassroots["numerator"], grassroots["denominator"]) == (APRIL_GRASSROOTS_SERVICES, APRIL_SERVICES)
    assert grassroots["target"] == 65
    assert (ind["teaching_sessions"]["value"], ind["teaching_attendance"]["value"]) == (2, 4)
    assert ind["outreach_days"]["value"] == 3
    # The ECG centre's April reads took 40 min, 3 h and 20 min: the median is 40, p90 interpolated.
    ecg = {p["label"]: p for p in ind["turnaround_p50"]["series"][0]["points"]}["驾驶舱ecg中心"]
    assert (ecg["value"], ecg["count"]) == (40.0, 3)
    ecg90 = {p["label"]: p for p in ind["turnaround_p90"]["series"][0]["points"]}["驾驶舱ecg中心"]
    assert ecg90["value"] == 152.0  # 40 + 0.8 × (180 − 40)
    for indicator in ind.values():
        assert (
            indicator["name"]["zh-CN"] and indicator["definition"]["zh-CN"] and indicator["definition"]["en"]
        )


def test_march_counts_by_beijing_time(played) -> None:
    ind = {i["key"]: i for i in board(played.people["admin"], MARCH)["indicators"]}
    # Three requests first sent in March (one returned and sent again in April); one report signed
    # at 23:50 on 31 March (the one signed at 00:10 on 1 April, still 31 March in UTC, is April's).
    assert ind["requests"]["value"] == 3
    assert ind["turnaround_p50"]["denominator"] == 1 and ind["turnaround_p50"]["value"] == 230.0
    assert ind["grassroots_service_share"]["denominator"] == 1
    assert (ind["teaching_sessions"]["value"], ind["outreach_days"]["value"]) == (1, 1)
    assert (ind["referrals_up"]["value"], ind["referrals_down"]["value"]) == (1, 0)


def cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def test_the_csv_carries_the_same_numbers(played) -> None:
    admin = played.people["admin"]
    response = admin.get("/api/dashboard.csv", month=APRIL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="dashboard-2026-04.csv"' in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["医共体 community", board(admin, APRIL)["community"]["name"]]
    header = table[1]
    assert header[:5] == ["指标代码 key", "指标 indicator", "分组 breakdown", "项目 item", "数值 value"]
    totals = {row[0]: row for row in table[2:] if row[2] == "合计 total"}
    for indicator in board(admin, APRIL)["indicators"]:
        row = totals[indicator["key"]]
        assert (float(row[4]) if row[4] else None) == indicator["value"], indicator["key"]
        assert row[7:9] == [cell(indicator["numerator"]), cell(indicator["denominator"])]
        for series in indicator["series"]:
            bars = {
                r[3]: r[4]
                for r in table[2:]
                if r[0] == indicator["key"] and r[2].startswith(series["name"]["zh-CN"])
            }
            assert bars == {p["label"]: cell(p["value"]) for p in series["points"]}


def test_another_community_sees_only_its_own(
    played, person: Callable[[str], Person], session_factory: sessionmaker[Session]
) -> None:
    demo = ok(person("admin").get("/api/dashboard", month=APRIL))
    assert demo["community"]["id"] != played.community_id
    with session_factory() as db:
        assert dashboard_figures(demo) == rounded(sql_figures(db, demo["community"]["id"], APRIL))


def test_only_the_community_administrator_sees_the_dashboard(played) -> None:
    for key in ("east_doc", "radiologist", "dispatcher", "tertiary_expert", "trainee_east", "auditor"):
        for path in ("/api/dashboard", "/api/dashboard.csv"):
            refused = played.people[key].get(path, month=APRIL)
            assert refused.status_code == 403, (key, path)


def test_a_malformed_month_is_a_400(played) -> None:
    for month in ("2026-13", "april", "2026-4-1"):
        refused = played.people["admin"].get("/api/dashboard", month=month)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_query", month


def test_teaching_and_outreach_records_are_checked(played) -> None:
    admin, ids, places = played.people["admin"], played.built.user_ids, played.built.institution_ids
    twice = {
        "specialist_id": ids["tertiary_expert"],
        "host_institution_id": places["township"],
        "day": "2026-04-10",
    }
    assert admin.post("/api/outreach-days", twice).status_code == 409
    at_home = {**twice, "host_institution_id": places["tertiary"], "day": "2026-04-12"}
    assert admin.post("/api/outreach-days", at_home).status_code == 400
    not_a_specialist = {**twice, "specialist_id": ids["east_doc"], "day": "2026-04-13"}
    assert admin.post("/api/outreach-days", not_a_specialist).status_code == 400
    assert admin.post("/api/outreach-days", {**twice, "day": "10/04/2026"}).status_code == 400

    naive = {
        "title": "讲座",
        "kind": "lecture",
        "host_id": ids["county_expert"],
        "scheduled_at": "2026-04-28T09:00",
    }
    assert admin.post("/api/teaching-sessions", naive).status_code == 400
    unknown_kind = {**naive, "kind": "party", "scheduled_at": cst(4, 28, 9).isoformat()}
    assert admin.post("/api/teaching-sessions", unknown_kind).status_code == 400
    planned = admin.post("/api/teaching-sessions", {**unknown_kind, "kind": "lecture"})
    assert planned.status_code == 201 and planned.json()["held_at"] is None
    session = f"/api/teaching-sessions/{planned.json()['id']}"
    attend = {"joined_at": cst(4, 28, 9).isoformat()}
    assert admin.put(f"{session}/attendance/{ids['trainee_east']}", attend).status_code == 409  # not held yet
    held = admin.post(f"{session}/held", {"held_at": cst(5, 2, 9).isoformat()})
    assert held.status_code == 200 and held.json()["held_at"].startswith("2026-05-02T01:00")
    assert admin.post(f"{session}/held", {}).status_code == 409
    backwards = {"joined_at": cst(5, 2, 10).isoformat(), "left_at": cst(5, 2, 9).isoformat()}
    assert admin.put(f"{session}/attendance/{ids['trainee_east']}", backwards).status_code == 400
    assert admin.put(f"{session}/attendance/{ids['county_expert']}", attend).status_code == 400  # the host
    listed = ok(admin.get("/api/teaching-sessions", month=APRIL))["items"]
    assert [s["kind"] for s in listed if (s["held_at"] or "").startswith("2026-04")] == [
        "ward_round",
        "lecture",
    ]
    assert len(ok(admin.get("/api/outreach-days", month=APRIL))["items"]) == 3
