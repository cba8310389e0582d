"""The shared viewer's state rules: how a room's viewer events fold into what a late joiner sees, and
what a trainee observer may be shown of them.

Pure functions of the event stream, so the signalling server (live rooms) and the API (replay of a
session's events) apply the same rules.
"""

from __future__ import annotations

from typing import Any


def empty_state() -> dict[str, Any]:
    return {"seq": 0, "open": None, "slice": None, "window": None, "viewport": None, "annotations": {}}


def fold(state: dict[str, Any], seq: int, event: dict[str, Any]) -> dict[str, Any]:
    """The state after `event`: what a late joiner needs to see what everybody else sees."""
    kind = event["kind"]
    body = {key: value for key, value in event.items() if key != "kind"}
    if kind == "open":
        state = {**empty_state(), "open": body["target"]}
    elif kind in ("slice", "window", "viewport"):
        state = {**state, kind: body["index"] if kind == "slice" else body}
    elif kind == "annotation_added":
        state = {**state, "annotations": {**state["annotations"], body["id"]: body["shape"]}}
    elif kind == "annotation_removed":
        annotations = dict(state["annotations"])
        annotations.pop(body["id"], None)
        state = {**state, "annotations": annotations}
    return {**state, "seq": seq}  # pointer moves are in the stream but not in the state


def for_observer(event: dict[str, Any]) -> dict[str, Any] | None:
    """What a trainee observer is shown of a viewer event: the kind of material opened but not its id
    (an original study's UIDs lead to the patient: PS3.15 replaces them), and no annotations (their
    shapes name original images). Trainees see the de-identified copies once the host publishes the
    recording to the teaching library; live, they watch the presenter's screen in the video."""
    kind = event["kind"]
    if kind == "open":
        return {"kind": "open", "target": {"type": event["target"]["type"], "id": ""}}
    if kind in ("annotation_added", "annotation_removed"):
        return None
    return event


def observer_state(state: dict[str, Any]) -> dict[str, Any]:
    """`state` as `for_observer` would have folded it."""
    opened = state["open"]
    return {**state, "open": opened and {"type": opened["type"], "id": ""}, "annotations": {}}
