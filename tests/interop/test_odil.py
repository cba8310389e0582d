"""An independent DICOMweb client, Debian's odil (C++, its own QIDO-RS / WADO-RS message code), searches
the platform and retrieves an instance. odil is built for the system Python, so it runs as a subprocess."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from tests.support.dicom_factory import ct_series

SYSTEM_PYTHON = "/usr/bin/python3"

# odil builds the requests and parses the answers; urllib only carries the bytes (odil has no transport).
ODIL_CLIENT = r"""
import json, sys, urllib.request
import odil

web = odil.webservices  # a member of the extension module, not an importable submodule
HTTPResponse, QIDORSRequest, QIDORSResponse = web.HTTPResponse, web.QIDORSRequest, web.QIDORSResponse
Selector, URL, Utils, WADORSRequest, WADORSResponse = (
    web.Selector, web.URL, web.Utils, web.WADORSRequest, web.WADORSResponse,
)

base, token, patient_id, out = sys.argv[1:5]


def send(request):
    target = request.get_target()
    url = f"{target.scheme}://{target.authority}{target.path}" + (f"?{target.query}" if target.query else "")
    headers = {**dict(request.get_headers()), "Authorization": f"Bearer {token}"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
        received = {name.title(): value for name, value in answer.getheaders()}
        # odil 0.12 keeps the quotes of an RFC 2045 quoted-string parameter (type="application/dicom")
        # and then mistakes the part type; unquote it as a MIME parser would.
        received["Content-Type"] = received["Content-Type"].replace('"', "")
        return HTTPResponse("HTTP/1.1", answer.status, answer.reason, received, answer.read())


def as_dict(data_set):
    # DICOM JSON of an odil data set, with the upper-case tags of PS3.18 F.2 (odil writes lower case).
    return {tag.upper(): element for tag, element in json.loads(odil.as_json(data_set)).items()}


query = odil.DataSet()
query.add("PatientID", [patient_id])
for keyword in ("StudyInstanceUID", "PatientName", "StudyDescription", "NumberOfStudyRelatedInstances"):
    query.add(keyword)
qido = QIDORSRequest(URL.parse(base))
qido.request_datasets(Utils.Representation.DICOM_JSON, Selector({"studies": ""}), query)
studies = QIDORSResponse(send(qido.get_http_request())).get_data_sets()
study = studies[0].as_string("StudyInstanceUID")[0].decode()

query = odil.DataSet()
query.add("SeriesInstanceUID")
qido = QIDORSRequest(URL.parse(base))
qido.request_datasets(Utils.Representation.DICOM_JSON, Selector({"studies": study, "series": ""}), query)
series = QIDORSResponse(send(qido.get_http_request())).get_data_sets()[0].as_string("SeriesInstanceUID")[0].decode()

query = odil.DataSet()
query.add("SOPInstanceUID")
qido = QIDORSRequest(URL.parse(base))
selector = Selector({"studies": study, "series": series, "instances": ""})
qido.request_datasets(Utils.Representation.DICOM_JSON, selector, query)
instances = [d.as_string("SOPInstanceUID")[0].decode() for d in QIDORSResponse(send(qido.get_http_request())).get_data_sets()]

wado = WADORSRequest(URL.parse(base))
wado.request_dicom(Utils.Representation.DICOM, Selector({"studies": study, "series": series, "instances": instances[0]}))
(retrieved,) = WADORSResponse(send(wado.get_http_request())).get_data_sets()

wado = WADORSRequest(URL.parse(base))
wado.request_dicom(Utils.Representation.DICOM_JSON, Selector({"studies": study, "series": series}))
metadata = WADORSResponse(send(wado.get_http_request())).get_data_sets()
with odil.open(out, "wb") as stream:
    meta = odil.DataSet()
    odil.Writer.write_file(retrieved, stream, meta, odil.registry.ExplicitVRLittleEndian)

print(json.dumps({
    "studies": [as_dict(d) for d in studies],
    "series": series,
    "instances": instances,
    "metadata": [as_dict(d) for d in metadata],
}))
"""


def odil_missing() -> str | None:
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import odil; odil.webservices.QIDORSRequest"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return "odil is not installed for the system Python: apt-get install -y python3-odil (./run test does it as root)"
    return None


def test_odil_searches_and_retrieves_an_instance(live_server, tmp_path: Path) -> None:
    if reason := odil_missing():
        pytest.fail(reason, pytrace=False)
    assert shutil.which(SYSTEM_PYTHON)
    sent = ct_series(n_slices=3, rows=48, cols=48, seed=6161, patient_name="吴^国华")
    stored = live_server.platform.stow("village", sent)
    assert stored.status_code == 200, stored.text
    token = live_server.platform.bearer("village")["Authorization"].removeprefix("Bearer ")
    out = tmp_path / "odil.dcm"
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", ODIL_CLIENT, f"{live_server.url}/dicomweb", token, "P006161", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    first = pydicom.dcmread(io.BytesIO(sent[0]))
    (study,) = answer["studies"]
    assert study["0020000D"]["Value"] == [first.StudyInstanceUID]
    assert study["00100010"]["Value"][0]["Alphabetic"] == "吴^国华"
    assert study["00201208"]["Value"] == [3]
    assert answer["series"] == first.SeriesInstanceUID
    by_uid = {pydicom.dcmread(io.BytesIO(d)).SOPInstanceUID: pydicom.dcmread(io.BytesIO(d)) for d in sent}
    assert sorted(answer["instances"]) == sorted(by_uid)
    assert sorted(item["00080018"]["Value"][0] for item in answer["metadata"]) == sorted(by_uid)
    assert {item["00280010"]["Value"][0] for item in answer["metadata"]} == {48}

    retrieved = pydicom.dcmread(out, force=True)
    original = by_uid[answer["instances"][0]]
    assert retrieved.SOPInstanceUID == original.SOPInstanceUID
    assert retrieved.PatientName == original.PatientName
    assert retrieved.PixelData == original.PixelData
