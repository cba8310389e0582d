"""Platform settings for tests: a data folder and a fixed secret key, plus any environment."""

from __future__ import annotations

from pathlib import Path

from server.core.config import Settings, load_settings

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def make_settings(data_dir: Path, **env: str) -> Settings:
    return load_settings(
        environ={"TELEMED_DATA_DIR": str(data_dir), "TELEMED_SECRET_KEY": TEST_SECRET, **env}
    )
