"""Fees and settlement: a month of generated services gives statements that match catalogue and rules.

The expected figures are computed here from the test's own price table and the agreed rates, with
decimal arithmetic, independently of `server.billing.rules`.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from server.billing.models import BillableItem
from server.billing.rules import record_completed_service
from server.cases.models import Case, CaseKind, CaseStatus
from server.community.models import Institution, User
from server.core.db import transaction
from server.patients.models import Patient
from tests.support.accounts import sign_in

BEIJING = ZoneInfo("Asia/Shanghai")
MONTH = "2026-06"
# code, case kind, price in fen at the secondary (county) and tertiary tier
PRICES = {
    "TM-IMAGING-READ": (CaseKind.IMAGING, {"secondary": 3000, "tertiary": 4500}),
    "TM-ECG-READ": (CaseKind.ECG, {"secondary": 1500, "tertiary": 2000}),
    "1110200002": (CaseKind.CONSULT, {"secondary": 900, "tertiary": 1300}),
}
KIND_CODE = {kind: code for code, (kind, _prices) in PRICES.items()}
PROVIDER_TIER = {"示范县人民医院": "secondary", "省人民医院": "tertiary"}
# Village ↔ county agreements: (rule, rate, baseline cost rate, baseline recorded on)
AGREEMENTS = {
    "TM-IMAGING-READ": ("discount", 2000, 3500, date(2025, 11, 1)),  # older than six months: review due
    "TM-ECG-READ": ("rebate", 1000, 2500, date(2026, 10, 1)),
}


def expected_net(price_fen: int, agreement: tuple[str, int, int, date] | None) -> int:
    if agreement is None:
        return price_fen
    rule, rate_bp = agreement[0], agreement[1]
    share = int((Decimal(price_fen) * rate_bp / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return price_fen - share if rule == "discount" else -share


def ids(session_factory) -> dict[str, int]:
    with session_factory() as db:
        return {name: id_ for id_, name in db.execute(select(Institution.id, Institution.name))}


@pytest.fixture(scope="module")
def month_of_services(session_factory, demo, app) -> dict[str, object]:
    """The catalogue and agreements set through the API, then a month of completed services."""
    institutions = ids(session_factory)
    with TestClient(app, client=("10.89.0.1", 40000)) as admin:
        csrf = sign_in(admin, "admin")
        for code, (kind, prices) in PRICES.items():
            for tier, fen in prices.items():
                answer = admin.put(
                    f"/api/billing/catalogue/{code}/{tier}",
                    json={"price_fen": fen, "name": code, "case_kind": kind.value},
                    headers={"X-CSRF-Token": csrf},
                )
                assert answer.status_code == 200, answer.text
        for code, (rule, rate, baseline, recorded) in AGREEMENTS.items():
            answer = admin.post(
                "/api/billing/agreements",
                json={
                    "provider_institution_id": institutions["示范县人民医院"],
                    "member_institution_id": institutions["青山村卫生室"],
                    "service_code": code,
                    "rule": rule,
                    "rate_bp": rate,
                    "baseline_cost_rate_bp": baseline,
                    "baseline_recorded_on": recorded.isoformat(),
                },
                headers={"X-CSRF-Token": csrf},
            )
            assert answer.status_code == 200, answer.text

    rng = random.Random(2026)
    expected: dict[tuple[str, str], dict[str, list[int]]] = {}  # (member, provider) -> code -> nets
    gross: dict[tuple[str, str], int] = {}
    with transaction(session_factory) as db:
        readers = {u.username: u for u in db.scalars(select(User))}
        members = ["青山村卫生室", "石桥村卫生室"]
        moments = [  # the month's edges in Beijing time, then random moments inside it
            datetime(2026, 6, 1, 0, 10, tzinfo=BEIJING),
            datetime(2026, 6, 30, 23, 50, tzinfo=BEIJING),
        ] + [
            datetime(2026, 6, 1, tzinfo=BEIJING) + timedelta(minutes=rng.randrange(29 * 24 * 60))
            for _ in range(58)
        ]
        for n, moment in enumerate(moments):
            member_name = members[n % 2]
            kind = rng.choice(list(KIND_CODE))
            provider_name = "省人民医院" if kind == CaseKind.CONSULT and n % 3 == 0 else "示范县人民医院"
            case = new_case(db, institutions[member_name], kind, readers["village"].id)
            performer = readers["expert" if provider_name == "省人民医院" else "radiologist"]
            provider = db.get(Institution, institutions[provider_name])
            assert provider is not None
            item = record_completed_service(db, case, provider, performer, moment)
            assert item is not None
            assert record_completed_service(db, case, provider, performer, moment) is item  # once per case
            code = KIND_CODE[kind]
            price = PRICES[code][1][PROVIDER_TIER[provider_name]]
            agreement = (
                AGREEMENTS.get(code)
                if (member_name, provider_name) == ("青山村卫生室", "示范县人民医院")
                else None
            )
            expected.setdefault((member_name, provider_name), {}).setdefault(code, []).append(
                expected_net(price, agreement)
            )
            gross[(member_name, provider_name)] = gross.get((member_name, provider_name), 0) + price
        # Just outside the month on either side (Beijing time): never on the June sheet.
        for outside in (
            datetime(2026, 5, 31, 23, 59, tzinfo=BEIJING),
            datetime(2026, 7, 1, 0, 1, tzinfo=BEIJING),
        ):
            case = new_case(db, institutions["青山村卫生室"], CaseKind.IMAGING, readers["village"].id)
            county = db.get(Institution, institutions["示范县人民医院"])
            assert county is not None
            record_completed_service(db, case, county, None, outside)
    return {"expected": expected, "gross": gross, "institutions": institutions}


def new_case(db, institution_id: int, kind: CaseKind, requester_id: int) -> Case:
    patient = Patient(institution_id=institution_id, name="结算测试")
    case = Case(
        institution_id=institution_id,
        patient=patient,
        created_by_id=requester_id,
        kind=kind,
        status=CaseStatus.CLOSED,
    )
    db.add(case)
    db.flush()
    return case


def test_statements_match_catalogue_and_share_rules(client: TestClient, month_of_services) -> None:
    expected, gross = month_of_services["expected"], month_of_services["gross"]
    csrf = sign_in(client, "village")
    answer = client.post("/api/billing/statements", json={"month": MONTH}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201, answer.text
    statements = {s["provider"]["name"]: s for s in answer.json()["items"]}
    assert set(statements) == {provider for member, provider in expected if member == "青山村卫生室"}
    for provider, statement in statements.items():
        want = expected[("青山村卫生室", provider)]
        assert statement["state"] == "submitted"
        assert statement["gross_fen"] == gross[("青山村卫生室", provider)]
        assert statement["net_fen"] == sum(sum(nets) for nets in want.values())
        lines = {line["service_code"]: line for line in statement["lines"]}
        assert {code: line["count"] for code, line in lines.items()} == {c: len(n) for c, n in want.items()}
        assert {code: line["net_fen"] for code, line in lines.items()} == {c: sum(n) for c, n in want.items()}
    county = statements["示范县人民医院"]
    assert county["baseline_review_due"] is True  # the imaging baseline is older than six months
    lines = {line["service_code"]: line for line in county["lines"]}
    assert lines["TM-IMAGING-READ"]["rule"] == "discount" and lines["TM-IMAGING-READ"]["baseline_review_due"]
    assert lines["TM-ECG-READ"]["rule"] == "rebate" and not lines["TM-ECG-READ"]["baseline_review_due"]
    assert lines["TM-ECG-READ"]["net_fen"] < 0  # a rebate: the county pays the village back

    exported = client.get(f"/api/billing/statements/{county['id']}/csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][1] == "青山村卫生室" and rows[1][3] == "示范县人民医院"
    total = rows[-1]
    assert total[0].startswith("合计") and int(total[2]) == sum(line["count"] for line in county["lines"])
    assert Decimal(total[-1]) * 100 == county["net_fen"]


def test_statement_moves_submitted_checked_invoiced_and_is_then_final(
    client: TestClient, app, month_of_services
) -> None:
    csrf = sign_in(client, "township")  # 青山乡卫生院 used no centre this month: nothing to submit
    answer = client.post("/api/billing/statements", json={"month": MONTH}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201 and answer.json()["items"] == []

    with TestClient(app, client=("10.89.0.2", 40000)) as admin:
        admin_csrf = sign_in(admin, "admin")
        headers = {"X-CSRF-Token": admin_csrf}
        made = admin.post(
            "/api/billing/statements",
            json={"month": MONTH, "member_institution_id": month_of_services["institutions"]["石桥村卫生室"]},
            headers=headers,
        ).json()["items"]
        statement_id = made[0]["id"]
        premature = admin.post(f"/api/billing/statements/{statement_id}/invoice", headers=headers)
        assert premature.status_code == 409 and "checked" in premature.json()["detail"]
        assert (
            admin.post(f"/api/billing/statements/{statement_id}/check", headers=headers).json()["state"]
            == "checked"
        )
        again = admin.post(
            "/api/billing/statements",
            json={"month": MONTH, "member_institution_id": month_of_services["institutions"]["石桥村卫生室"]},
            headers=headers,
        )
        assert again.status_code == 409  # a checked sheet is final
        invoiced = admin.post(f"/api/billing/statements/{statement_id}/invoice", headers=headers).json()
        assert invoiced["state"] == "invoiced" and invoiced["invoiced_at"]
        unknown = admin.post(f"/api/billing/statements/{statement_id}/approve", headers=headers)
        assert unknown.status_code == 400

    # Another village's doctor cannot read this sheet.
    client.cookies.clear()
    sign_in(client, "village")
    assert client.get(f"/api/billing/statements/{statement_id}/csv").status_code == 404


def test_agreement_rate_never_exceeds_the_baseline_cost_rate(client: TestClient, month_of_services) -> None:
    institutions = month_of_services["institutions"]
    csrf = sign_in(client, "admin")
    agreement = {
        "provider_institution_id": institutions["示范县人民医院"],
        "member_institution_id": institutions["石桥村卫生室"],
        "service_code": "TM-IMAGING-READ",
        "rule": "discount",
        "rate_bp": 4000,
        "baseline_cost_rate_bp": 3500,
        "baseline_recorded_on": "2026-11-01",
    }
    refused = client.post("/api/billing/agreements", json=agreement, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and "baseline cost rate" in refused.json()["detail"]
    bad_rule = client.post(
        "/api/billing/agreements",
        json={**agreement, "rate_bp": 100, "rule": "gift"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad_rule.status_code == 400


def test_current_month_cannot_be_settled_and_prices_never_change_completed_work(
    client: TestClient, session_factory, month_of_services
) -> None:
    csrf = sign_in(client, "admin")
    this_month = datetime.now(BEIJING).strftime("%Y-%m")
    early = client.post(
        "/api/billing/statements",
        json={
            "month": this_month,
            "member_institution_id": month_of_services["institutions"]["青山村卫生室"],
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert early.status_code == 400 and "not ended" in early.json()["detail"]
    with session_factory() as db:
        before = db.scalar(select(func.sum(BillableItem.price_fen)))
    repriced = client.put(
        "/api/billing/catalogue/TM-IMAGING-READ/secondary",
        json={"price_fen": 9999},
        headers={"X-CSRF-Token": csrf},
    )
    assert repriced.status_code == 200
    with session_factory() as db:
        assert db.scalar(select(func.sum(BillableItem.price_fen))) == before
    client.put(
        "/api/billing/catalogue/TM-IMAGING-READ/secondary",
        json={"price_fen": 3000},
        headers={"X-CSRF-Token": csrf},
    )


def test_reader_workload_matches_a_direct_count(
    client: TestClient, session_factory, month_of_services
) -> None:
    sign_in(client, "admin")
    readers = {r["username"]: r for r in client.get(f"/api/billing/workload?month={MONTH}").json()["readers"]}
    start, end = datetime(2026, 6, 1, tzinfo=BEIJING), datetime(2026, 7, 1, tzinfo=BEIJING)
    with session_factory() as db:
        counted = dict(
            db.execute(
                select(User.username, func.count(BillableItem.id))
                .join(BillableItem, BillableItem.performed_by_id == User.id)
                .where(BillableItem.completed_at >= start, BillableItem.completed_at < end)
                .group_by(User.username)
            ).all()
        )
    assert {name: r["services"] for name, r in readers.items()} == counted
    assert counted["radiologist"] > 0 and counted["expert"] > 0


def test_signing_a_read_bills_it_once_at_the_signers_institution(app, session_factory) -> None:
    with (
        TestClient(app, client=("10.89.0.3", 40000)) as village,
        TestClient(app, client=("10.89.0.4", 40000)) as reader,
    ):
        village_csrf, reader_csrf = sign_in(village, "village"), sign_in(reader, "radiologist")
        case_id = village.post(
            "/api/cases",
            json={"kind": "imaging", "clinical_question": "计费测试", "patient": {"name": "计费患者"}},
            headers={"X-CSRF-Token": village_csrf},
        ).json()["id"]

        def act(client: TestClient, csrf: str, action: str, **body: object) -> None:
            answer = client.post(
                f"/api/cases/{case_id}/actions/{action}", json=body, headers={"X-CSRF-Token": csrf}
            )
            assert answer.status_code == 200, answer.text

        act(village, village_csrf, "submit")
        act(reader, reader_csrf, "claim")
        act(reader, reader_csrf, "start_review")
        draft = reader.put(
            f"/api/cases/{case_id}/report",
            json={"content": {"findings": "未见异常。", "impression": "正常胸片。"}},
            headers={"X-CSRF-Token": reader_csrf},
        )
        assert draft.status_code == 200, draft.text
        act(reader, reader_csrf, "sign")
        act(
            reader,
            reader_csrf,
            "amend",
            reason="补充",
            content={"findings": "未见异常。", "impression": "正常。"},
        )
    with session_factory() as db:
        items = db.scalars(select(BillableItem).where(BillableItem.case_id == case_id)).all()
        county = db.scalar(select(Institution).where(Institution.name == "示范县人民医院"))
        village_id = db.scalar(select(Institution.id).where(Institution.name == "青山村卫生室"))
    assert len(items) == 1  # the amendment bills nothing more
    (item,) = items
    assert (item.service_code, item.price_fen, item.tier.value) == ("TM-IMAGING-READ", 3000, "secondary")
    assert item.provider_institution_id == county.id and item.member_institution_id == village_id
