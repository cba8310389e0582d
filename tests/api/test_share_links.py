"""Share links for an outside expert: one study, read or download, expiring, revocable, every use audited."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import httpx2 as httpx
import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from sqlalchemy import String, cast, select, update
from starlette.testclient import TestClient

from server.access.models import AuditEvent
from server.auth.passwords import hash_password
from server.cases.models import Case
from server.community.models import Institution, User
from server.core.db import transaction
from server.core.orm import utcnow
from server.sharing.models import ShareLink
from tests.support.accounts import DEMO_PASSWORD, bearer, sign_in
from tests.support.dicom_factory import ct_series
from tests.support.dicomweb import split_multipart, stow


@dataclass(frozen=True)
class Shared:
    case_id: int
    patient_id: int
    study_uid: str
    series_uid: str
    instances: dict[str, bytes]  # SOP Instance UID → the bytes uploaded
    other_study_uid: str  # another study of the same case, never shared


def case_at(session_factory, institution: str) -> Case:
    with session_factory() as db:
        return db.scalars(
            select(Case)
            .join(Institution)
            .where(Institution.name == institution, Case.kind == "imaging")
            .order_by(Case.id)  # the demo's case; other tests add more
        ).first()


@pytest.fixture(scope="module")
def shared(app, session_factory) -> Shared:
    """Two small CT studies uploaded by the village doctor to the 青山村 imaging case."""
    case = case_at(session_factory, "青山村卫生室")
    studies = []
    with TestClient(app, client=("10.78.0.1", 40000)) as client:
        village = bearer(client, "village")
        for seed in (8611, 8612):  # seeds no other test uses: the session database is shared
            series = ct_series(n_slices=3, rows=32, cols=32, seed=seed, patient_name="张^秀英")
            assert stow(client, village, series, case.id).status_code == 200
            studies.append([(pydicom.dcmread(io.BytesIO(data)), data) for data in series])
    (first, _), (other, _) = studies[0][0], studies[1][0]
    return Shared(
        case_id=case.id,
        patient_id=case.patient_id,
        study_uid=first.StudyInstanceUID,
        series_uid=first.SeriesInstanceUID,
        instances={ds.SOPInstanceUID: data for ds, data in studies[0]},
        other_study_uid=other.StudyInstanceUID,
    )


def create_link(client: TestClient, username: str, shared: Shared, **body: object):
    csrf = sign_in(client, username)
    payload = {"study_uid": shared.study_uid, "scope": "read", "expires_in_days": 7, **body}
    response = client.post(
        f"/api/cases/{shared.case_id}/share-links", json=payload, headers={"X-CSRF-Token": csrf}
    )
    client.cookies.clear()  # what follows is the outside expert, who has no account
    return response


def events(session_factory, link_id: int, *actions: str) -> list[AuditEvent]:
    """Audit rows about the link (as its resource, or as the link a request came through)."""
    with session_factory() as db:
        rows = db.scalars(select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id))
        return [
            e
            for e in rows
            if (e.resource_type == "share_link" and e.resource_id == str(link_id))
            or e.detail.get("share_link") == link_id
        ]


def test_read_link_shows_the_study_but_not_the_originals(
    client: TestClient, shared: Shared, session_factory
) -> None:
    created = create_link(client, "radiologist", shared, recipient="省人民医院 孙教授")
    assert created.status_code == 201, created.text
    link = created.json()
    token = link["token"]
    assert link["url"].endswith(f"/share/{token}") and link["path"] == f"/share/{token}"
    assert link["scope"] == "read" and link["state"] == "active" and link["created_by"] == "陈影像"
    base = f"/share/{token}/dicomweb/studies/{shared.study_uid}"
    series = f"{base}/series/{shared.series_uid}"
    sop = next(iter(shared.instances))

    about = client.get(f"/share/{token}/link").json()
    assert about["study_uid"] == shared.study_uid and about["scope"] == "read"
    assert about["recipient"] == "省人民医院 孙教授" and about["shared_by"] == "陈影像"
    assert about["shared_by_institution"] == "示范县人民医院"

    # QIDO over the link finds exactly the shared study, even when asked for everything.
    found = client.get(f"/share/{token}/dicomweb/studies").json()
    assert [s["0020000D"]["Value"][0] for s in found] == [shared.study_uid]
    metadata = client.get(f"{series}/metadata")
    assert metadata.status_code == 200
    assert {item["00080018"]["Value"][0] for item in metadata.json()} == set(shared.instances)
    frame = client.get(f"{series}/instances/{sop}/frames/1")
    assert (
        frame.status_code == 200
        and len(split_multipart(frame.headers["content-type"], frame.content)[0]) == 32 * 32 * 2
    )
    rendered = client.get(f"{series}/instances/{sop}/rendered")
    assert rendered.status_code == 200 and rendered.content[:2] == b"\xff\xd8"

    # A read link never hands out the original files.
    original = client.get(f"{series}/instances/{sop}")
    assert original.status_code == 403
    assert "viewing only" in original.json()["detail"]
    # Another study of the very same case is not reachable: it looks as if it did not exist.
    other = client.get(f"/share/{token}/dicomweb/studies/{shared.other_study_uid}/series")
    assert other.status_code == 404

    with session_factory() as db:
        row = db.get(ShareLink, link["id"])
        assert row.use_count == 5 and row.last_used_at is not None  # link, QIDO, metadata, frame, rendered
        leaked = db.scalar(select(AuditEvent.id).where(cast(AuditEvent.detail, String).contains(token)))
    assert leaked is None, "a share link's token must never reach the audit log"

    used = events(
        session_factory, link["id"], "dicom_query", "dicom_retrieve", "share_link_open", "access_denied"
    )
    assert [e.action for e in used] == [
        "share_link_open",
        "dicom_query",
        "dicom_retrieve",
        "dicom_retrieve",
        "dicom_retrieve",
        "access_denied",
        "dicom_retrieve",
    ]
    assert all(e.patient_id == shared.patient_id and e.user_id is None for e in used)
    assert [e.detail.get("what") for e in used[2:5]] == ["metadata", "frames", "rendered"]
    assert used[5].outcome == "denied" and used[5].detail["path"].startswith(f"/share/<link {link['id']}>/")
    assert used[6].outcome == "denied" and used[6].resource_id == shared.other_study_uid
    created_event = events(session_factory, link["id"], "share_link_create")
    assert created_event and created_event[0].username == "radiologist"
    assert created_event[0].detail["recipient"] == "省人民医院 孙教授"


def test_download_link_returns_the_original_bytes(client: TestClient, shared: Shared) -> None:
    token = create_link(client, "admin", shared, scope="download", expires_in_days=1).json()["token"]
    for sop, original in shared.instances.items():
        response = client.get(
            f"/share/{token}/dicomweb/studies/{shared.study_uid}/series/{shared.series_uid}/instances/{sop}"
        )
        assert response.status_code == 200
        assert split_multipart(response.headers["content-type"], response.content) == [original]
    # Study retrieval, too, returns every original unchanged, and only those of the shared study.
    study = client.get(f"/share/{token}/dicomweb/studies/{shared.study_uid}")
    assert study.status_code == 200
    assert sorted(split_multipart(study.headers["content-type"], study.content)) == sorted(
        shared.instances.values()
    )


def test_read_link_refuses_study_and_series_retrieval(client: TestClient, shared: Shared) -> None:
    token = create_link(client, "radiologist", shared).json()["token"]
    study = f"/share/{token}/dicomweb/studies/{shared.study_uid}"
    assert client.get(study).status_code == 403
    assert client.get(f"{study}/series/{shared.series_uid}").status_code == 403
    assert client.get(f"{study}/metadata").status_code == 200


def test_expired_link_is_refused_and_says_so(client: TestClient, shared: Shared, session_factory) -> None:
    link = create_link(client, "radiologist", shared).json()
    metadata = (
        f"/share/{link['token']}/dicomweb/studies/{shared.study_uid}/series/{shared.series_uid}/metadata"
    )
    assert client.get(metadata).status_code == 200
    with session_factory.begin() as db:
        db.execute(
            update(ShareLink)
            .where(ShareLink.id == link["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    refused = client.get(metadata)
    assert refused.status_code == 410
    assert refused.json()["error"] == "share_link_expired" and "expired at" in refused.json()["detail"]
    assert client.get(f"/share/{link['token']}/link").status_code == 410

    refusals = events(session_factory, link["id"], "share_link_refused")
    assert [e.detail["reason"] for e in refusals] == ["expired", "expired"]
    assert all(e.patient_id == shared.patient_id and e.outcome == "denied" for e in refusals)
    csrf = sign_in(client, "radiologist")
    listed = client.get(f"/api/cases/{shared.case_id}/share-links", headers={"X-CSRF-Token": csrf}).json()
    mine = next(item for item in listed["items"] if item["id"] == link["id"])
    assert mine["state"] == "expired" and mine["use_count"] == 1 and "token" not in mine


def test_revoked_link_is_refused_at_once(client: TestClient, shared: Shared, session_factory) -> None:
    link = create_link(client, "dispatcher", shared).json()
    series = f"/share/{link['token']}/dicomweb/studies/{shared.study_uid}/series"
    assert client.get(series).status_code == 200

    csrf = sign_in(client, "radiologist")  # a colleague who may share the case may also revoke its links
    revoked = client.post(f"/api/share-links/{link['id']}/revoke", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked" and revoked.json()["revoked_by"] == "陈影像"
    again = client.post(f"/api/share-links/{link['id']}/revoke", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 409
    client.cookies.clear()

    refused = client.get(series)
    assert refused.status_code == 410
    assert refused.json()["error"] == "share_link_revoked" and "revoked at" in refused.json()["detail"]
    assert [e.username for e in events(session_factory, link["id"], "share_link_revoke")] == ["radiologist"]
    assert [e.detail["reason"] for e in events(session_factory, link["id"], "share_link_refused")] == [
        "revoked"
    ]


def test_unknown_token_gets_404_and_is_audited(client: TestClient, session_factory) -> None:
    response = client.get("/share/not-a-real-token/dicomweb/studies")
    assert response.status_code == 404 and response.json()["error"] == "share_link_not_found"
    with session_factory() as db:
        last = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "share_link_refused").order_by(AuditEvent.id.desc())
        ).first()
    assert (
        last is not None
        and last.detail == {"reason": "unknown"}
        and "not-a-real-token" not in str(last.detail)
    )


def test_a_session_does_not_widen_a_link(client: TestClient, shared: Shared) -> None:
    """Signed in as a reader who sees more, a request through a link still reaches only the link's study."""
    token = create_link(client, "radiologist", shared).json()["token"]
    sign_in(client, "radiologist")
    assert client.get(f"/dicomweb/studies/{shared.other_study_uid}/series").status_code == 200
    assert client.get(f"/share/{token}/dicomweb/studies/{shared.other_study_uid}/series").status_code == 404


def test_village_doctor_shares_own_case_but_not_another_institutions(
    client: TestClient, shared: Shared, session_factory
) -> None:
    assert create_link(client, "village", shared).status_code == 201
    other = case_at(session_factory, "石桥村卫生室")
    csrf = sign_in(client, "village")
    body = {"study_uid": shared.study_uid, "scope": "read", "expires_in_days": 7}
    refused = client.post(f"/api/cases/{other.id}/share-links", json=body, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert client.get(f"/api/cases/{other.id}/share-links").status_code == 403
    with session_factory() as db:
        denied = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "access_denied", AuditEvent.resource_id == str(other.id))
            .order_by(AuditEvent.id.desc())
        ).first()
    assert denied is not None and denied.username == "village" and denied.patient_id == other.patient_id


@pytest.mark.parametrize("username", ["trainee", "auditor"])
def test_trainee_and_auditor_cannot_share(client: TestClient, shared: Shared, username: str) -> None:
    assert create_link(client, username, shared).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"expires_in_days": 0}, 400, "expires_in_days"),
        ({"expires_in_days": 31}, 400, "expires_in_days"),
        ({"expires_in_days": "7"}, 400, "expires_in_days"),
        ({"scope": "write"}, 400, "scope"),
        ({"study_uid": "1.2.3.4"}, 404, "study_uid"),
        ({"recipient": "x" * 201}, 400, "recipient"),
    ],
)
def test_bad_requests_are_refused_clearly(client: TestClient, shared: Shared, body, status, field) -> None:
    response = create_link(client, "radiologist", shared, **body)
    assert response.status_code == status and response.json()["field"] == field


def test_dicomweb_client_reads_through_a_link(live_server) -> None:
    """An independent DICOMweb client pointed at the link's base URL, as an outside expert's tool would be."""
    login = httpx.post(
        f"{live_server.url}/api/auth/login",
        json={"username": "radiologist", "password": live_server.password, "bearer": True},
    ).json()
    created = httpx.post(
        f"{live_server.url}/api/cases/{live_server.case_with_ct}/share-links",
        json={"study_uid": live_server.study_uid, "scope": "download", "expires_in_days": 2},
        headers={"Authorization": f"Bearer {login['token']}"},
    )
    assert created.status_code == 201, created.text
    client = DICOMwebClient(url=f"{live_server.url}/share/{created.json()['token']}/dicomweb")
    series = client.search_for_series(live_server.study_uid)
    assert [s["0020000E"]["Value"][0] for s in series] == [live_server.series_uid]
    metadata = client.retrieve_series_metadata(live_server.study_uid, live_server.series_uid)
    assert len(metadata) == 30
    sop = metadata[0]["00080018"]["Value"][0]
    frames = client.retrieve_instance_frames(live_server.study_uid, live_server.series_uid, sop, [1])
    assert len(frames[0]) == 256 * 256 * 2
    instance = client.retrieve_instance(live_server.study_uid, live_server.series_uid, sop)
    assert instance.SOPInstanceUID == sop and instance.Rows == 256


def test_a_link_ends_with_its_creators_account(client: TestClient, shared: Shared, session_factory) -> None:
    with transaction(session_factory) as db:
        model = db.scalar(select(User).where(User.username == "radiologist"))
        assert model is not None
        db.add(
            User(
                username="departing-reader",
                display_name="调离医生",
                password_hash=hash_password(DEMO_PASSWORD),
                role=model.role,
                institution_id=model.institution_id,
                centre_id=model.centre_id,
            )
        )
    link = create_link(client, "departing-reader", shared)
    assert link.status_code == 201, link.text
    series = f"/share/{link.json()['token']}/dicomweb/studies/{shared.study_uid}/series"
    assert client.get(series).status_code == 200
    with transaction(session_factory) as db:
        db.execute(update(User).where(User.username == "departing-reader").values(active=False))
    refused = client.get(series)
    assert refused.status_code == 410 and refused.json()["error"] == "share_link_withdrawn"
    assert "no longer has an account" in refused.json()["detail"]
