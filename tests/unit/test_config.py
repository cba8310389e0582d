from pathlib import Path

import pytest

from server.core.config import ConfigError, load_settings

PRODUCTION = {
    "TELEMED_MODE": "production",
    "TELEMED_DATABASE_URL": "postgresql://telemed@db/telemed",
    "TELEMED_BROKER_URL": "redis://redis:6379/0",
    "TELEMED_SECRET_KEY": "k" * 40,
    "TELEMED_S3_ENDPOINT": "http://minio:9000",
    "TELEMED_S3_ACCESS_KEY": "telemed",
    "TELEMED_S3_SECRET_KEY": "secret",
}


def test_embedded_defaults_need_no_servers(tmp_path: Path) -> None:
    settings = load_settings(environ={"TELEMED_DATA_DIR": str(tmp_path)})
    assert settings.is_embedded
    assert settings.database_url == f"sqlite:///{tmp_path / 'telemed.db'}"
    assert settings.broker_url == "filesystem://"
    assert settings.storage_backend == "filesystem"
    assert settings.storage_root == tmp_path / "objects"
    # The secret is made once per install and then reused, never taken from the source.
    assert len(settings.secret_key) >= 32
    assert load_settings(environ={"TELEMED_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key


def test_production_settings_parse_the_s3_url() -> None:
    settings = load_settings(environ=PRODUCTION)
    assert settings.s3 is not None
    assert (settings.s3.endpoint, settings.s3.secure, settings.s3.bucket) == ("minio:9000", False, "telemed")
    assert settings.cookie_secure


@pytest.mark.parametrize(
    "variable",
    [
        "TELEMED_DATABASE_URL",
        "TELEMED_BROKER_URL",
        "TELEMED_SECRET_KEY",
        "TELEMED_S3_ENDPOINT",
        "TELEMED_S3_SECRET_KEY",
    ],
)
def test_production_names_the_missing_variable(variable: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != variable}
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ=env)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TELEMED_PORT", "eighty"),
        ("TELEMED_SECRET_KEY", "short"),
        ("TELEMED_DATABASE_URL", "sqlite:///x.db"),
        ("TELEMED_MODE", "staging"),
        ("TELEMED_COOKIE_SECURE", "maybe"),
        ("TELEMED_STORAGE", "ftp"),
    ],
)
def test_invalid_values_are_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(environ={**PRODUCTION, variable: value})


def test_target_times_are_configurable(tmp_path: Path) -> None:
    env = {"TELEMED_DATA_DIR": str(tmp_path)}
    settings = load_settings(
        environ={**env, "TELEMED_URGENT_TARGET_MINUTES": "45", "TELEMED_ROUTINE_TARGET_HOURS": "24"}
    )
    assert (settings.urgent_target_minutes, settings.routine_target_hours) == (45, 24)
    with pytest.raises(ConfigError, match="TELEMED_URGENT_TARGET_MINUTES"):
        load_settings(environ={**env, "TELEMED_URGENT_TARGET_MINUTES": "soon"})


def test_ice_servers_are_never_a_public_default(tmp_path: Path) -> None:
    rtc = load_settings(environ={"TELEMED_DATA_DIR": str(tmp_path)}).rtc
    assert (rtc.stun_urls, rtc.turn_urls, rtc.signaling_url) == ((), (), "")
    rtc = load_settings(
        environ={
            "TELEMED_DATA_DIR": str(tmp_path),
            "TELEMED_TURN_URLS": "turn:turn.example.cn:3478?transport=udp, turns:turn.example.cn:443?transport=tcp",
            "TELEMED_TURN_SECRET": "s3cret",
            "TELEMED_SIGNALING_URL": "wss://consult.example.cn/",
        }
    ).rtc
    assert rtc.turn_urls == (
        "turn:turn.example.cn:3478?transport=udp",
        "turns:turn.example.cn:443?transport=tcp",
    )
    assert rtc.signaling_url == "wss://consult.example.cn"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TELEMED_TURN_URLS": "turn:turn.example.cn:3478"}, "TELEMED_TURN_SECRET"),
        ({"TELEMED_STUN_URLS": "http://stun.example.cn"}, "TELEMED_STUN_URLS"),
        ({"TELEMED_SIGNALING_URL": "http://consult.example.cn"}, "TELEMED_SIGNALING_URL"),
        ({"TELEMED_TURN_TTL_SECONDS": "10", "TELEMED_TURN_SECRET": "s"}, "TELEMED_TURN_TTL_SECONDS"),
    ],
)
def test_bad_ice_settings_are_refused_by_name(tmp_path: Path, env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(environ={"TELEMED_DATA_DIR": str(tmp_path), **env})
