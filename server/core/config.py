"""Settings read from environment variables (and an optional `.env`).

Every setting is a `TELEMED_*` variable. The embedded mode (the default) needs none of them: it keeps
SQLite, the object store and the broker queue under one data directory. Production mode refuses to
start unless each server it depends on is named, and the error names the variable to fix.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

EMBEDDED = "embedded"
PRODUCTION = "production"


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool = False
    region: str | None = None


@dataclass(frozen=True)
class DimsePeer:
    """A modality (or its gateway) allowed to send by C-STORE, and whose its images are."""

    ae_title: str
    institution_id: int
    username: str | None = None


@dataclass(frozen=True)
class RtcSettings:
    """ICE servers handed to consult peers, and the signalling server's public address.

    Never a public default: with no STUN/TURN named, peers use host candidates only (a LAN).
    """

    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""  # coturn's static-auth-secret: TURN credentials are signed, time-limited
    turn_ttl_seconds: int = 3600
    signaling_url: str = ""  # ws(s)://host:port as browsers reach it; empty: the API's host, signalling port
    grace_seconds: int = 30  # a dropped peer keeps its place this long


@dataclass(frozen=True)
class Settings:
    mode: str
    data_dir: Path
    database_url: str
    broker_url: str
    storage_backend: str
    storage_root: Path
    s3: S3Settings | None
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    signaling_port: int = 8001
    session_hours: int = 12
    cookie_secure: bool = False
    login_max_failures: int = 5
    login_window_seconds: int = 900
    urgent_target_minutes: int = 120  # an urgent (急) case's answer is due this long after submission
    routine_target_hours: int = 48
    worker_concurrency: int = 2
    task_queue: str = "telemed"
    dimse_port: int = 11112
    dimse_ae_title: str = "TELEMED"
    dimse_peers: tuple[DimsePeer, ...] = ()
    rtc: RtcSettings = field(default_factory=RtcSettings)
    web_dist: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2] / "web" / "dist")

    @property
    def is_embedded(self) -> bool:
        return self.mode == EMBEDDED

    @property
    def urgent_queue(self) -> str:
        """Tasks of urgent cases (术中冰冻, a chest-pain ECG) go here: workers take from it first, and a
        deployment can run a worker on it alone so they never wait behind a day's preview backlog."""
        return f"{self.task_queue}.urgent"

    @property
    def broker_folder(self) -> Path:
        """Queue folder of the filesystem broker used in embedded mode."""
        return self.data_dir / "broker"


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _require(env: Mapping[str, str], name: str, why: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required {why}")
    return value


def _ae_title(name: str, raw: str) -> str:
    """An AE title as PS3.5 allows it: 1-16 printable ASCII characters, no backslash; edge spaces dropped."""
    title = raw.strip(" ")
    if not title:
        raise ConfigError(f"{name}: an AE title must not be empty")
    if len(title) > 16:
        raise ConfigError(f"{name}: AE title {title!r} is longer than 16 characters")
    if any(not " " <= char <= "~" or char == "\\" for char in title):
        raise ConfigError(
            f"{name}: AE title {title!r} may hold only printable ASCII characters other than backslash"
        )
    return title


def _dimse_peers(env: Mapping[str, str]) -> tuple[DimsePeer, ...]:
    """`AE=INSTITUTION_ID[:USERNAME]`, comma-separated. Empty: no calling AE is accepted."""
    name = "TELEMED_DIMSE_PEERS"
    peers: dict[str, DimsePeer] = {}
    for entry in (env.get(name) or "").split(","):
        if not entry.strip():
            continue
        raw_title, equals, target = entry.rpartition("=")
        institution, _, username = target.strip().partition(":")
        if not equals or not institution.isdigit() or int(institution) < 1:
            raise ConfigError(
                f"{name} entries must look like CALLING_AE=INSTITUTION_ID or CALLING_AE=INSTITUTION_ID:USERNAME,"
                f" got {entry.strip()!r}"
            )
        title = _ae_title(name, raw_title)
        if title in peers:
            raise ConfigError(f"{name} names calling AE title {title!r} twice")
        peers[title] = DimsePeer(title, int(institution), username.strip() or None)
    return tuple(peers.values())


def _urls(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    urls = tuple(url.strip() for url in (env.get(name) or "").split(",") if url.strip())
    for url in urls:
        if not url.startswith(schemes):
            raise ConfigError(f"{name} entries must start with {' or '.join(schemes)}, got {url!r}")
    return urls


def _rtc_settings(env: Mapping[str, str]) -> RtcSettings:
    turn_urls = _urls(env, "TELEMED_TURN_URLS", ("turn:", "turns:"))
    turn_secret = env.get("TELEMED_TURN_SECRET", "").strip()
    if turn_urls and not turn_secret:
        raise ConfigError("TELEMED_TURN_SECRET is required when TELEMED_TURN_URLS is set")
    signaling_url = env.get("TELEMED_SIGNALING_URL", "").strip().rstrip("/")
    if signaling_url and not signaling_url.startswith(("ws://", "wss://")):
        raise ConfigError(f"TELEMED_SIGNALING_URL must be a ws:// or wss:// URL, got {signaling_url!r}")
    return RtcSettings(
        stun_urls=_urls(env, "TELEMED_STUN_URLS", ("stun:", "stuns:")),
        turn_urls=turn_urls,
        turn_secret=turn_secret,
        turn_ttl_seconds=_int(env, "TELEMED_TURN_TTL_SECONDS", 3600, minimum=60),
        signaling_url=signaling_url,
        grace_seconds=_int(env, "TELEMED_SIGNALING_GRACE_SECONDS", 30),
    )


def _embedded_secret(data_dir: Path) -> str:
    """A per-installation key, made once, so an embedded install never runs on a key from the source."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _s3_settings(env: Mapping[str, str], why: str) -> S3Settings:
    endpoint = _require(env, "TELEMED_S3_ENDPOINT", why)
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"TELEMED_S3_ENDPOINT must be host:port or an http(s) URL, got {endpoint!r}")
        secure_default = parts.scheme == "https"
        endpoint = parts.netloc
    else:
        secure_default = False
    return S3Settings(
        endpoint=endpoint,
        access_key=_require(env, "TELEMED_S3_ACCESS_KEY", why),
        secret_key=_require(env, "TELEMED_S3_SECRET_KEY", why),
        bucket=env.get("TELEMED_S3_BUCKET", "telemed").strip() or "telemed",
        secure=_flag(env, "TELEMED_S3_SECURE", secure_default),
        region=env.get("TELEMED_S3_REGION") or None,
    )


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | Path = ".env") -> Settings:
    """Build settings from `environ` (default: the process environment over an optional `.env`)."""
    if environ is None:
        file_values = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
        env: dict[str, str] = {**file_values, **os.environ}
    else:
        env = dict(environ)

    mode = env.get("TELEMED_MODE", EMBEDDED).strip().lower() or EMBEDDED
    if mode not in {EMBEDDED, PRODUCTION}:
        raise ConfigError(f"TELEMED_MODE must be '{EMBEDDED}' or '{PRODUCTION}', got {mode!r}")
    production = mode == PRODUCTION
    why = "in production mode (TELEMED_MODE=production)"

    data_dir = Path(env.get("TELEMED_DATA_DIR") or "var").resolve()

    if production:
        database_url = _require(env, "TELEMED_DATABASE_URL", why)
        if not database_url.startswith("postgresql"):
            raise ConfigError(f"TELEMED_DATABASE_URL must be a postgresql:// URL {why}")
        broker_url = _require(env, "TELEMED_BROKER_URL", why)
        secret_key = _require(env, "TELEMED_SECRET_KEY", why)
        if len(secret_key) < 32:
            raise ConfigError("TELEMED_SECRET_KEY must be at least 32 characters long")
    else:
        database_url = env.get("TELEMED_DATABASE_URL") or f"sqlite:///{data_dir / 'telemed.db'}"
        broker_url = env.get("TELEMED_BROKER_URL") or "filesystem://"
        secret_key = env.get("TELEMED_SECRET_KEY") or _embedded_secret(data_dir)

    storage_backend = (env.get("TELEMED_STORAGE") or ("s3" if production else "filesystem")).strip().lower()
    if storage_backend not in {"filesystem", "s3"}:
        raise ConfigError(f"TELEMED_STORAGE must be 'filesystem' or 's3', got {storage_backend!r}")
    if production and storage_backend != "s3":
        raise ConfigError(f"TELEMED_STORAGE must be 's3' {why}")
    s3 = _s3_settings(env, "when TELEMED_STORAGE=s3") if storage_backend == "s3" else None

    return Settings(
        mode=mode,
        data_dir=data_dir,
        database_url=database_url,
        broker_url=broker_url,
        storage_backend=storage_backend,
        storage_root=Path(env.get("TELEMED_STORAGE_ROOT") or data_dir / "objects").resolve(),
        s3=s3,
        secret_key=secret_key,
        host=env.get("TELEMED_HOST") or ("0.0.0.0" if production else "127.0.0.1"),
        port=_int(env, "TELEMED_PORT", 8000),
        signaling_port=_int(env, "TELEMED_SIGNALING_PORT", 8001),
        session_hours=_int(env, "TELEMED_SESSION_HOURS", 12),
        cookie_secure=_flag(env, "TELEMED_COOKIE_SECURE", production),
        login_max_failures=_int(env, "TELEMED_LOGIN_MAX_FAILURES", 5),
        login_window_seconds=_int(env, "TELEMED_LOGIN_WINDOW_SECONDS", 900),
        urgent_target_minutes=_int(env, "TELEMED_URGENT_TARGET_MINUTES", 120),
        routine_target_hours=_int(env, "TELEMED_ROUTINE_TARGET_HOURS", 48),
        worker_concurrency=_int(env, "TELEMED_WORKER_CONCURRENCY", 2),
        task_queue=env.get("TELEMED_TASK_QUEUE", "").strip() or "telemed",
        dimse_port=_int(env, "TELEMED_DIMSE_PORT", 11112),
        dimse_ae_title=_ae_title("TELEMED_DIMSE_AE_TITLE", env.get("TELEMED_DIMSE_AE_TITLE") or "TELEMED"),
        dimse_peers=_dimse_peers(env),
        rtc=_rtc_settings(env),
    )
