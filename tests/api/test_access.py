"""The single role/ownership check: who sees which case, and what is written to the audit log."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.api.app import api_routes
from server.cases.models import Case
from server.community.models import Institution
from tests.support.accounts import sign_in


def case_of(session_factory: sessionmaker[Session], institution_name: str) -> Case:
    with session_factory() as db:
        found = db.scalars(
            select(Case).join(Institution).where(Institution.name == institution_name).order_by(Case.id)
        ).first()
        assert found is not None
        return found


def test_village_doctor_reads_own_case_and_it_is_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    own = case_of(session_factory, "青山村卫生室")
    sign_in(client, "village")
    response = client.get(f"/api/cases/{own.id}")
    assert response.status_code == 200
    body = response.json()
    assert (
        body["patient"]["national_id_masked"].startswith("110")
        and "*" in body["patient"]["national_id_masked"]
    )
    with session_factory() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "case_read", AuditEvent.resource_id == str(own.id))
        ).first()
    assert event is not None and event.username == "village" and event.patient_id == own.patient_id


def test_village_doctor_is_refused_another_institutions_case(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    other = case_of(session_factory, "石桥村卫生室")
    sign_in(client, "village")
    response = client.get(f"/api/cases/{other.id}")
    assert response.status_code == 403
    assert "赵桂兰" not in response.text
    with session_factory() as db:
        denied = db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "access_denied",
                AuditEvent.resource_type == "case",
                AuditEvent.resource_id == str(other.id),
            )
        ).all()
    assert denied and denied[-1].username == "village" and denied[-1].outcome == "denied"
    assert denied[-1].patient_id == other.patient_id


def test_case_list_shows_only_own_institution(client: TestClient) -> None:
    sign_in(client, "village")
    institutions = {item["institution"]["name"] for item in client.get("/api/cases").json()["items"]}
    assert institutions == {"青山村卫生室"}


def test_imaging_reader_sees_the_imaging_centre_queue_only(client: TestClient) -> None:
    sign_in(client, "radiologist")
    kinds = {item["kind"] for item in client.get("/api/cases").json()["items"]}
    assert kinds == {"imaging"}


def test_admin_sees_the_whole_community(client: TestClient) -> None:
    sign_in(client, "admin")
    institutions = {item["institution"]["name"] for item in client.get("/api/cases").json()["items"]}
    assert {"青山村卫生室", "石桥村卫生室"} <= institutions


def test_trainee_sees_no_identified_cases_and_auditor_reads_the_log(client: TestClient) -> None:
    sign_in(client, "trainee")
    assert client.get("/api/cases").status_code == 403
    assert client.get("/api/audit-events").status_code == 403
    client.cookies.clear()
    sign_in(client, "auditor")
    events = client.get("/api/audit-events").json()["items"]
    assert any(event["action"] == "login" for event in events)


def test_anonymous_requests_get_401(client: TestClient) -> None:
    assert client.get("/api/cases").status_code == 401
    assert client.get("/api/audit-events").status_code == 401


def test_every_route_declares_an_access_rule() -> None:
    for route in api_routes():
        assert isinstance(route, Route | Mount)
        assert getattr(route, "access", "missing") != "missing", f"{route.path} has no access rule"
