"""Turn the per-track Matroska files of one session into the deliverables: a seekable `recording.mp4`
(H.264 + AAC, faststart), a VOD HLS rendition, a poster and WebVTT chapters. Video: one track is held
over the whole session; several are composited into a grid, one tile per participant (2 side by side,
3–4 in 2×2; with more, the 4 with the most media), each part placed at its own time on the session clock
and the tile black while the participant sends nothing. Every audio track is mixed. The ffmpeg CLI does
the encoding: its filter graph (gap filling, compositing, mixing) has no equivalent in PyAV."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av

from server.consults.chapters import chapters_vtt

SEGMENT_S = 2
MAX_TILES = 4
MAX_WIDTH = 1920  # the composite is scaled down to at most this width


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


def _size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        return stream.codec_context.width, stream.codec_context.height


def _participant(path: Path) -> str:
    """The recorder names its files `<participant>-<kind>-<part>.mkv`."""
    return path.name.split("-", 1)[0]


def _even(x: float) -> int:
    return max(2, int(x) // 2 * 2)


def tiles(videos: Sequence[Path], spans: dict[Path, tuple[float, float]]) -> list[list[Path]]:
    """Video files grouped by participant, at most `MAX_TILES` (those with the most media), in the
    order they first appear; each participant's parts in time order."""
    groups: dict[str, list[Path]] = {}
    for p in sorted(videos, key=lambda p: spans[p][0]):
        groups.setdefault(_participant(p), []).append(p)

    def media(parts: list[Path]) -> float:
        return sum(spans[p][1] - spans[p][0] for p in parts)

    kept = sorted(groups.values(), key=media, reverse=True)[:MAX_TILES]
    return sorted(kept, key=lambda parts: spans[parts[0]][0])


def _grid(n: int) -> tuple[int, int]:
    """(columns, rows): 1 alone, 2 side by side, 3–4 in 2×2."""
    return (1, 1) if n == 1 else (2, 1) if n == 2 else (2, 2)


def _video_graph(
    grid: list[list[Path]], spans: dict[Path, tuple[float, float]], end: float
) -> tuple[list[str], str]:
    """ffmpeg inputs and the filter graph ending in `[v]`. A single file is held on its first frame back
    to 0 and on its last to the end (the file spans the whole session); a grid is drawn on a black canvas
    with each part overlaid on its tile from its own offset, and nothing once it ends."""
    if len(grid) == 1 and len(grid[0]) == 1:
        [[only]] = grid
        first, last = spans[only]
        pad = (
            f"tpad=start_duration={first:.3f}:stop_duration={end - last:.3f}:start_mode=clone:stop_mode=clone"
        )
        return ["-i", str(only)], f"[0:v]{pad},fps=30,format=yuv420p[v]"  # ffmpeg starts it at 0
    columns, rows = _grid(len(grid))
    width = max(_size(p)[0] for parts in grid for p in parts)
    height = max(_size(p)[1] for parts in grid for p in parts)
    scale = min(1.0, MAX_WIDTH / (columns * width))
    tile_w, tile_h = _even(width * scale), _even(height * scale)
    inputs: list[str] = []
    chain = [f"color=c=black:s={columns * tile_w}x{tile_h * rows}:r=30:d={end:.3f}[c0]"]
    n = 0
    for index, parts in enumerate(grid):
        x, y = index % columns * tile_w, index // columns * tile_h
        for p in parts:
            inputs += ["-itsoffset", f"{spans[p][0]:.3f}", "-i", str(p)]  # at its session-clock offset
            fit = f"scale={tile_w}:{tile_h}:force_original_aspect_ratio=decrease"
            chain.append(f"[{n}:v]fps=30,{fit},pad={tile_w}:{tile_h}:(ow-iw)/2:(oh-ih)/2[t{n}]")
            chain.append(f"[c{n}][t{n}]overlay=x={x}:y={y}:eof_action=pass[c{n + 1}]")
            n += 1
    chain.append(f"[c{n}]format=yuv420p[v]")
    return inputs, ";".join(chain)


def _ffmpeg(*args: str) -> None:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], capture_output=True)
    if done.returncode:
        raise MuxError(done.stderr.decode(errors="replace")[-2000:])


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
    grid = tiles(videos, spans)
    if grid:
        inputs, video = _video_graph(grid, spans, end)
        graph.append(video)
        maps += ["-map", "[v]"]
    base = sum(len(parts) for parts in grid)  # audio inputs follow the video files
    for p in audios:
        inputs += ["-itsoffset", f"{spans[p][0]:.3f}", "-i", str(p)]  # keep the session-clock offset
    if audios:
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
    if grid:
        first = min(spans[parts[0]][0] for parts in grid)
        at = min(first + 1.0, (first + end) / 2)  # a second into the first video, where a tile has media
        _ffmpeg("-ss", f"{at:.3f}", "-i", str(mp4), "-frames:v", "1", str(out / "poster.jpg"))
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
        "tiles": [[p.name for p in parts] for parts in grid],  # left to right, top to bottom
    }
