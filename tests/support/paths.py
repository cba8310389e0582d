"""Where the repository is, and the folder tests write artifacts (screenshots, logs, cached fixtures) to."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
