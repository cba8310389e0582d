"""Server-side consult recording: an aiortc peer that writes crash-safe per-track files, and the mux step."""

from signaling.recording.recorder import RecordingPeer, TrackWriter

__all__ = ["RecordingPeer", "TrackWriter"]
