"""A case's studies and the annotations readers save on them."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from server.cases.models import Case
from server.community.models import Institution
from tests.support.accounts import bearer, sign_in
from tests.support.dicom_factory import ct_series
from tests.support.dicomweb import stow


def imaging_case(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as db:
        found = db.scalar(
            select(Case.id)
            .join(Institution)
            .where(Institution.name == "青山村卫生室", Case.kind == "imaging")
        )
        assert found is not None
        return found


def test_case_lists_its_studies_and_keeps_annotations(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    case_id = imaging_case(session_factory)
    series = ct_series(n_slices=3, rows=32, cols=32, seed=501, patient_name="王^五")
    assert stow(client, bearer(client, "village"), series, case_id).status_code == 200

    csrf = sign_in(client, "radiologist")
    studies = client.get(f"/api/cases/{case_id}/studies").json()["items"]
    study = next(s for s in studies if s["instance_count"] == 3)
    assert study["modalities"] == ["CT"] and study["series_count"] == 1

    series_uid = client.get(f"/dicomweb/studies/{study['study_uid']}/series").json()[0]["0020000E"]["Value"][
        0
    ]
    mark = {
        "study_uid": study["study_uid"],
        "series_uid": series_uid,
        "sop_uid": "1.2.3",
        "frame": 1,
        "tool": "Length",
        "data": {"points": [[0, 0, 0], [10, 0, 0]], "length_mm": 10.0},
    }
    saved = client.post(
        f"/api/cases/{case_id}/annotations", json={"items": [mark, mark]}, headers={"X-CSRF-Token": csrf}
    )
    assert saved.status_code == 200 and len(saved.json()["items"]) == 2
    # Saving again replaces this reader's annotations on the study instead of piling them up.
    client.post(f"/api/cases/{case_id}/annotations", json={"items": [mark]}, headers={"X-CSRF-Token": csrf})
    listed = client.get(f"/api/cases/{case_id}/annotations", params={"study_uid": study["study_uid"]}).json()[
        "items"
    ]
    assert [(a["tool"], a["author"], a["data"]["length_mm"]) for a in listed] == [("Length", "陈影像", 10.0)]

    foreign = {**mark, "study_uid": "9.9.9"}
    refused = client.post(
        f"/api/cases/{case_id}/annotations", json={"items": [foreign]}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 400


def test_other_institutions_cannot_read_a_case_s_studies(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    case_id = imaging_case(session_factory)
    sign_in(client, "township")
    assert client.get(f"/api/cases/{case_id}/studies").status_code == 403
    assert client.get(f"/api/cases/{case_id}/annotations").status_code == 403
