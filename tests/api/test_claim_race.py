"""Two readers claim the same queued case at the same moment, over HTTP, against a real server on
PostgreSQL: exactly one gets it, the other is told it is taken, and one claim is recorded."""

from __future__ import annotations

from functools import partial

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.cases.models import Case, CaseEvent
from tests.support.accounts import add_reader
from tests.support.race import Timed, post_together

ROUNDS = 10


def _claim_together(url: str, case_id: int, readers: list[httpx.Client]) -> list[Timed]:
    """Each reader's claim, released at one moment; (status, start, end) per reader."""
    return post_together(
        [partial(reader.post, f"{url}/api/cases/{case_id}/actions/claim", json={}) for reader in readers]
    )


def test_two_readers_claiming_one_case_at_once_give_one_winner(
    live_server, session_factory: sessionmaker[Session]
) -> None:
    platform = live_server.platform
    url = platform.url
    second = add_reader(session_factory)
    village = httpx.Client(headers=platform.bearer("village"), timeout=30)
    readers = [httpx.Client(headers=platform.bearer(name), timeout=30) for name in ("radiologist", second)]
    for client in readers:  # open the connections first, so both requests leave at the same instant
        assert client.get(f"{url}/api/worklist").status_code == 200

    winners: list[int] = []
    overlaps = 0
    for _round in range(ROUNDS):
        created = village.post(
            f"{url}/api/cases",
            json={"kind": "imaging", "urgency": "urgent", "patient": {"name": "抢单测试"}},
        )
        case_id = created.json()["id"]
        assert (
            village.post(f"{url}/api/cases/{case_id}/actions/submit", json={}).json()["case"]["status"]
            == "queued"
        )

        results = _claim_together(url, case_id, readers)
        statuses = sorted(status for status, _start, _end in results)
        assert statuses == [200, 409], f"round {_round}: {results}"
        (_s0, start0, end0), (_s1, start1, end1) = results
        overlaps += start0 < end1 and start1 < end0  # both requests were in flight together
        winner = next(i for i, (status, _a, _b) in enumerate(results) if status == 200)
        loser = readers[1 - winner].post(f"{url}/api/cases/{case_id}/actions/claim", json={})
        assert loser.status_code == 409 and loser.json()["state"] == "assigned"
        winners.append(winner)

        with session_factory() as db:
            case = db.get(Case, case_id)
            assert case is not None
            claims = db.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "claim")
            ).all()
            assert case.assigned_to is not None
            assignee = case.assigned_to.username
        assert assignee == ("radiologist", second)[winner]
        assert len(claims) == 1 and claims[0].actor_id == case.assigned_to_id

    assert overlaps >= ROUNDS // 2, f"the claims rarely overlapped ({overlaps}/{ROUNDS}): not a race"
    for client in [village, *readers]:
        client.close()
