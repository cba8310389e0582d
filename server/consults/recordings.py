"""Where a consult recording's tracks are written, and the task that turns them into deliverables.

The signalling server's recorder writes the tracks; a worker muxes them (task `PROCESS_TASK`, sent by
name). Both find the tracks under the installation's data folder, which they share (compose mounts
one `recordings` volume into both).
"""

from __future__ import annotations

from pathlib import Path

PROCESS_TASK = "consults.process_recording"


def track_dir(data_dir: Path, recording_id: int) -> Path:
    """Where the recording peer writes the track files of a recording."""
    return data_dir / "recordings" / str(recording_id)
