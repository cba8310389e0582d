"""Turn the per-track Matroska files of one session into the deliverables: a seekable `recording.mp4`
(H.264 + AAC, faststart), a VOD HLS rendition, a poster and WebVTT chapters. Several video tracks:
the one with the most media is kept (the consult's main camera), every audio track is mixed. The
ffmpeg CLI does the encoding: its filter graph (gap filling, mixing) has no equivalent in PyAV."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av

SEGMENT_S = 2


class MuxError(ValueError):
    """The track files cannot be made into a recording (none, or none with media)."""


def _span(path: Path) -> tuple[float, float]:
    """(start, end) of the media in a track file, in seconds on the session clock; read by demuxing
    because a killed recorder leaves no duration in the header."""
    start, end = None, 0.0
    with av.open(str(path)) as f:
        for packet in f.demux():
            if packet.pts is None:
                continue
            t = float(packet.pts * packet.time_base)
            start = t if start is None else min(start, t)
            end = max(end, t + float((packet.duration or 0) * packet.time_base))
    if start is None:
        raise MuxError(f"{path.name} holds no media")
    return start, end


def _kind(path: Path) -> str:
    with av.open(str(path)) as f:
        return "video" if f.streams.video else "audio"


def _ffmpeg(*args: str) -> None:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], capture_output=True)
    if done.returncode:
        raise MuxError(done.stderr.decode(errors="replace")[-2000:])


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


def mux(tracks: Sequence[Path], out: Path, chapters: Sequence[tuple[int, str]] = ()) -> dict[str, Any]:
    """Write recording.mp4, hls/index.m3u8 + segments, poster.jpg and chapters.vtt into `out`; return
    the manifest (file names relative to `out`, duration in ms)."""
    spans = {p: _span(p) for p in tracks}
    if not spans:
        raise MuxError("no track files")
    videos = [p for p in spans if _kind(p) == "video"]
    audios = [p for p in spans if p not in videos]
    end = max(e for _, e in spans.values())
    inputs: list[str] = []
    graph: list[str] = []
    maps: list[str] = []
    chosen = [max(videos, key=lambda p: spans[p][1] - spans[p][0])] if videos else []
    for p in chosen:
        inputs += ["-i", str(p)]  # ffmpeg starts it at 0; tpad below restores its offset
    for p in audios:
        inputs += ["-itsoffset", f"{spans[p][0]:.3f}", "-i", str(p)]  # keep the session-clock offset
    if chosen:
        # Hold the first frame back to 0 and the last to the end: the file spans the whole session.
        first, last = spans[chosen[0]]
        graph.append(
            f"[0:v]tpad=start_duration={first:.3f}:stop_duration={end - last:.3f}:start_mode=clone:stop_mode=clone,fps=30,format=yuv420p[v]"
        )
        maps += ["-map", "[v]"]
    if audios:
        base = len(chosen)
        pads = "".join(
            f"[{base + i}:a]aresample=async=1:first_pts=0,apad=whole_dur={end:.3f}[a{i}];"
            for i in range(len(audios))
        )
        mixed = "".join(f"[a{i}]" for i in range(len(audios)))
        graph.append(f"{pads}{mixed}amix=inputs={len(audios)}:normalize=0:duration=longest[a]")
        maps += ["-map", "[a]"]
    out.mkdir(parents=True, exist_ok=True)
    mp4 = out / "recording.mp4"
    _ffmpeg(
        *inputs, "-filter_complex", ";".join(graph), *maps, "-t", f"{end:.3f}",
        "-c:v", "libx264", "-preset", "veryfast", "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_S})",
        "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", str(mp4),
    )  # fmt: skip
    hls = out / "hls"
    hls.mkdir(exist_ok=True)
    _ffmpeg(
        "-i", str(mp4), "-c", "copy", "-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(hls / "seg%03d.ts"), str(hls / "index.m3u8"),
    )  # fmt: skip
    with av.open(str(mp4)) as f:
        duration_ms = round(f.duration / 1000) if f.duration else round(end * 1000)
    files = {"video": "recording.mp4", "hls": "hls/index.m3u8", "chapters": "chapters.vtt"}
    if chosen:
        _ffmpeg("-ss", f"{min(1.0, end / 2):.3f}", "-i", str(mp4), "-frames:v", "1", str(out / "poster.jpg"))
        files["poster"] = "poster.jpg"
    (out / "chapters.vtt").write_text(chapters_vtt(chapters, duration_ms), encoding="utf-8")
    return {
        "duration_ms": duration_ms,
        "files": files,
        "segments": sorted(f"hls/{p.name}" for p in hls.glob("*.ts")),
        "tracks": [
            {"file": p.name, "start_ms": round(s * 1000), "end_ms": round(e * 1000)}
            for p, (s, e) in spans.items()
        ],
        "video_track": chosen[0].name if chosen else None,
    }
