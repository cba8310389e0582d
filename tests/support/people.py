"""People of the demo community using the in-process app, each signed in with a client of their own."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.support.accounts import sign_in

_addresses = itertools.count(1)

IMAGING_REPORT = {
    "findings": "双肺纹理增多，右下肺野见斑片影。",
    "impression": "右下肺炎，建议抗感染治疗后复查。",
}


@dataclass
class Person:
    """A signed-in user of the in-process app."""

    client: TestClient
    csrf: str
    username: str

    def act(self, case_id: int, action: str, **body: Any) -> httpx.Response:
        return self.client.post(
            f"/api/cases/{case_id}/actions/{action}", json=body, headers={"X-CSRF-Token": self.csrf}
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.client.put(path, json=body, headers={"X-CSRF-Token": self.csrf})

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})

    def new_case(self, kind: str = "imaging", urgency: str = "routine", **extra: Any) -> int:
        body = {
            "kind": kind,
            "urgency": urgency,
            "clinical_question": "测试：请上级判读",
            "patient": {"name": "测试患者", "sex": "M", "birth_date": "1970-01-01"},
            **extra,
        }
        created = self.client.post("/api/cases", json=body, headers={"X-CSRF-Token": self.csrf})
        assert created.status_code == 201, created.text
        return created.json()["id"]


def people(app: Starlette) -> Iterator[Callable[[str], Person]]:
    """Sign people in, each with their own client (and address, so login throttling never interferes)."""
    opened: list[TestClient] = []

    def signed_in(username: str) -> Person:
        n = next(_addresses)
        client = TestClient(app, client=(f"10.88.{n // 250}.{n % 250 + 1}", 40000))
        client.__enter__()
        opened.append(client)
        return Person(client, sign_in(client, username), username)

    yield signed_in
    for client in opened:
        client.__exit__(None, None, None)


def ok(response: httpx.Response) -> Any:  # the JSON answer: an object, or an array (QIDO)
    assert response.status_code == 200, response.text
    return response.json()
