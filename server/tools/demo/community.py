"""A demo county medical community (示范县医共体), so a new install has something to look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access.actor import Actor
from server.auth.passwords import hash_password
from server.cases import service as case_service
from server.cases.models import Case, CaseKind, Urgency
from server.cases.service import NewCase, NewPatient
from server.cases.workflow import TargetTimes
from server.community.models import CentreKind, Community, Institution, ReadingCentre, Role, Tier, User
from server.core.clock import SYSTEM_CLOCK, FixedClock
from server.core.orm import utcnow
from server.tools.demo.billing import load_catalogue
from server.tools.demo.history import load_history
from server.tools.demo.referrals import load_referrals

COMMUNITY_NAME = "示范县医共体"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    institution: str


# username, display name, role, institution key, centre kind
DEMO_USERS: list[tuple[str, str, Role, str, CentreKind | None]] = [
    ("village", "王村医", Role.REQUESTER, "qingshan_village", None),
    ("township", "李医生", Role.REQUESTER, "qingshan_township", None),
    ("shiqiao", "何村医", Role.REQUESTER, "shiqiao_village", None),
    ("radiologist", "陈影像", Role.READER, "county", CentreKind.IMAGING),
    ("ecgreader", "周心电", Role.READER, "county", CentreKind.ECG),
    ("pathologist", "吴病理", Role.READER, "county", CentreKind.PATHOLOGY),
    ("dispatcher", "赵调度", Role.DISPATCHER, "county", CentreKind.IMAGING),
    ("expert", "孙教授", Role.EXPERT, "tertiary", None),
    ("trainee", "刘学员", Role.TRAINEE, "chengguan_township", None),
    ("admin", "医共体管理员", Role.ADMIN, "county", None),
    ("auditor", "审计员", Role.AUDITOR, "county", None),
    ("referral", "钱转诊", Role.DISPATCHER, "county", None),  # 分级诊疗办公室: receives and books referrals
    ("internist", "郑主任", Role.EXPERT, "county", None),  # county physician treating referred patients
]

# key, name, tier, parent key
DEMO_INSTITUTIONS: list[tuple[str, str, Tier, str | None]] = [
    ("county", "示范县人民医院", Tier.COUNTY_HOSPITAL, None),
    ("tertiary", "省人民医院", Tier.TERTIARY_HOSPITAL, None),
    ("chengguan_township", "城关镇卫生院", Tier.TOWNSHIP_CENTRE, "county"),
    ("qingshan_township", "青山乡卫生院", Tier.TOWNSHIP_CENTRE, "county"),
    ("qingshan_village", "青山村卫生室", Tier.VILLAGE_CLINIC, "qingshan_township"),
    ("shiqiao_village", "石桥村卫生室", Tier.VILLAGE_CLINIC, "qingshan_township"),
]

CENTRES = [
    (CentreKind.IMAGING, "影像诊断中心"),
    (CentreKind.ECG, "心电诊断中心"),
    (CentreKind.PATHOLOGY, "病理诊断中心"),
]

DEMO_TARGETS = TargetTimes()
DEMO_LOADER = "telemed demo"  # the user agent the demo's own steps are audited with

# institution key, patient (name, sex, birth date, national id), kind, urgency, question, waiting for.
# Each is opened by its clinic's doctor and submitted, so queued at its centre; the urgent ECG has
# most of its two hours left when the demo starts.
DEMO_CASES = [
    (
        "qingshan_village",
        ("张秀英", "F", date(1958, 3, 14), "110101195803141228"),
        CaseKind.IMAGING,
        Urgency.ROUTINE,
        "胸部正位片：咳嗽两周，排除肺炎",
        timedelta(hours=3),
    ),
    (
        "qingshan_village",
        ("李国强", "M", date(1966, 11, 2), "11010119661102041X"),
        CaseKind.ECG,
        Urgency.URGENT,
        "胸闷一小时，心电图请上级判读",
        timedelta(minutes=20),
    ),
    (
        "shiqiao_village",
        ("赵桂兰", "F", date(1949, 7, 30), "110101194907301027"),
        CaseKind.IMAGING,
        Urgency.ROUTINE,
        "腰痛，腰椎正侧位片",
        timedelta(hours=26),
    ),
]


def community_exists(db: Session) -> bool:
    return db.scalar(select(Community.id).where(Community.name == COMMUNITY_NAME)) is not None


def load_demo(db: Session, password: str, *, history: bool = False) -> list[DemoLogin]:
    """Create the demo community once; every demo user gets `password`. Idempotent.

    `history` adds its last weeks of work (`server.tools.demo.history`), as `telemed demo` does; the
    tests load the demo without it, so the rows they count stay the same."""
    if community_exists(db):
        return []
    community = Community(name=COMMUNITY_NAME)
    db.add(community)
    db.flush()
    load_catalogue(db, Actor.system(), SYSTEM_CLOCK, community.id)
    institutions: dict[str, Institution] = {}
    for key, name, tier, parent in DEMO_INSTITUTIONS:
        institutions[key] = Institution(
            community=community, name=name, tier=tier, parent=institutions.get(parent) if parent else None
        )
        db.add(institutions[key])
    centres = {
        kind: ReadingCentre(institution=institutions["county"], kind=kind, name=name)
        for kind, name in CENTRES
    }
    db.add_all(centres.values())

    password_hash = hash_password(password)
    logins = []
    users: dict[str, User] = {}
    for username, display_name, role, institution_key, centre_kind in DEMO_USERS:
        users[username] = User(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            role=role,
            institution=institutions[institution_key],
            centre=centres[centre_kind] if centre_kind else None,
        )
        logins.append(DemoLogin(username, display_name, role, institutions[institution_key].name))
    db.add_all(users.values())
    db.flush()

    now = utcnow()
    cases: dict[str, Case] = {}
    for institution_key, (name, sex, born, national_id), kind, urgency, question, waited in DEMO_CASES:
        requester = users["village"] if institution_key == "qingshan_village" else users["shiqiao"]
        patient = NewPatient(name, sex, born, national_id)
        cases[name] = _queued_case(
            db, requester, NewCase(kind, urgency, question, patient=patient), now - waited
        )
    load_referrals(db, institutions, users, cases["李国强"])
    if history:
        load_history(db, institutions, users, targets=DEMO_TARGETS, user_agent=DEMO_LOADER)
    db.flush()
    return logins


def _queued_case(db: Session, requester: User, new: NewCase, submitted: datetime) -> Case:
    """A demo case as its requester would have made it: opened five minutes before it was submitted
    at `submitted`, and queued at its centre, through the same service functions as the API."""
    actor = Actor(requester, user_agent=DEMO_LOADER)
    clock = FixedClock(submitted - timedelta(minutes=5))
    case = case_service.create_case(db, actor, clock, new).case
    clock.set(submitted)
    return case_service.submit(db, actor, clock, case.id, targets=DEMO_TARGETS).case


def demo_logins() -> list[DemoLogin]:
    names = {key: name for key, name, _tier, _parent in DEMO_INSTITUTIONS}
    return [DemoLogin(u, d, r, names[i]) for u, d, r, i, _c in DEMO_USERS]
