"""The directory: colleagues to assign or consult, and a clinic's own patients."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.community.models import ReadingCentre
from tests.support.accounts import sign_in


def test_dispatcher_lists_the_readers_of_a_centre_and_a_reader_the_experts(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as db:
        imaging = db.scalar(select(ReadingCentre.id).where(ReadingCentre.name == "影像诊断中心"))
    sign_in(client, "dispatcher")
    readers = client.get("/api/directory/colleagues", params={"role": "reader", "centre_id": imaging}).json()[
        "items"
    ]
    assert "陈影像" in {r["display_name"] for r in readers}
    assert {r["centre"]["name"] for r in readers} == {"影像诊断中心"}  # not the ECG or pathology readers
    experts = client.get("/api/directory/colleagues", params={"role": "expert"}).json()["items"]
    assert "孙教授" in {e["display_name"] for e in experts} and all(e["role"] == "expert" for e in experts)
    assert client.get("/api/directory/colleagues", params={"role": "admin"}).status_code == 400
    assert (
        client.get("/api/directory/colleagues", params={"role": "reader", "centre_id": "x"}).status_code
        == 400
    )


def test_village_doctor_finds_own_patients_only_and_the_search_is_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    sign_in(client, "village")
    found = client.get("/api/patients", params={"q": "张"}).json()["items"]
    assert "张秀英" in {p["name"] for p in found}
    assert all("*" in p["national_id_masked"] for p in found if p["national_id_masked"])
    assert (
        client.get("/api/patients", params={"q": "1228"}).json()["items"][0]["name"] == "张秀英"
    )  # ID ending
    assert (
        client.get("/api/patients", params={"q": "赵桂兰"}).json()["items"] == []
    )  # another clinic's patient
    assert (
        client.get("/api/patients", params={"q": "%"}).json()["items"] == []
    )  # a wildcard is just a character
    assert client.get("/api/patients").status_code == 400
    with session_factory() as db:
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "patient_search").order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
    assert event.username == "village"


def test_the_community_institutions_are_listed_for_everyone_clinical(client: TestClient) -> None:
    sign_in(client, "village")
    institutions = {i["name"]: i["tier"] for i in client.get("/api/directory/institutions").json()["items"]}
    assert (
        institutions["示范县人民医院"] == "county_hospital"
        and institutions["青山村卫生室"] == "village_clinic"
    )
    assert institutions["省人民医院"] == "tertiary_hospital"
