"""Chapters of a recording as WebVTT, for the player's chapter list and seeking."""

from __future__ import annotations

from collections.abc import Sequence


def chapters_vtt(chapters: Sequence[tuple[int, str]], duration_ms: int) -> str:
    """WebVTT with one cue per chapter, each running to the next chapter (the last to the end)."""

    def stamp(ms: int) -> str:
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    ordered = sorted((max(0, min(t, duration_ms)), title) for t, title in chapters)
    lines = ["WEBVTT", ""]
    for i, (t, title) in enumerate(ordered):
        end = ordered[i + 1][0] if i + 1 < len(ordered) else duration_ms
        lines += [f"{stamp(t)} --> {stamp(max(end, t))}", title.replace("-->", "->"), ""]
    return "\n".join(lines)
