"""A real coturn (`turnserver`, Debian) on free loopback ports, with REST-API (shared secret) auth, over
UDP and TCP on one port and, given a certificate, over TLS on another (`turns:`, as on 443 in production).

coturn refuses to relay to loopback peers (and then relayed media fails silently: the relay
candidate is allocated, checks never succeed). Both peers' relay addresses are 127.0.0.1 here, so
`--allow-loopback-peers` and `--allowed-peer-ip=127.0.0.1` are both needed; never in production.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from server.consults.ice import turn_credential
from tests.support.services import free_port

__all__ = ["TlsFiles", "Turn", "coturn", "tls_certificate", "turn_credential"]

TLS_HOST = "localhost"  # the name in the test certificate, as `turns:` URLs name the TURN server


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the test CA's certificate: what clients must trust
    cert: Path  # the server's chain (leaf, then the CA)
    key: Path


@dataclass(frozen=True)
class Turn:
    port: int
    secret: str
    tls_port: int | None = None

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    @property
    def tls_url(self) -> str:
        assert self.tls_port is not None, "coturn was started without a certificate"
        return f"turns:{TLS_HOST}:{self.tls_port}?transport=tcp"

    def ice_server(self, user: str, ttl_seconds: int = 600, url: str | None = None) -> dict[str, object]:
        """An RTCIceServer dict with credentials signed the way the signalling server signs them."""
        username = f"{int(time.time()) + ttl_seconds}:{user}"
        return {
            "urls": [url or self.url],
            "username": username,
            "credential": turn_credential(self.secret, username),
        }


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    signer: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    """A CA certificate (no `issuer`) or a server certificate for `TLS_HOST` and 127.0.0.1."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        names = [x509.DNSName(TLS_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def tls_certificate(directory: Path) -> TlsFiles:
    """A throw-away CA and a server certificate it signed, as PEM files in `directory`."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("telemed test CA", ca_key, None, ca_key)
    server = _certificate(TLS_HOST, server_key, ca.subject, ca_key)
    files = TlsFiles(directory / "ca.pem", directory / "turn-chain.pem", directory / "turn-key.pem")
    pem = serialization.Encoding.PEM
    files.ca.write_bytes(ca.public_bytes(pem))
    files.cert.write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    files.key.write_bytes(
        server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """coturn also listens on TCP on its port; a TCP connect is a cheap readiness probe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited with {process.returncode} (see its log)")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"turnserver did not listen on {port} within {timeout} s")


@contextmanager
def coturn(workdir: Path, tls: TlsFiles | None = None) -> Iterator[Turn]:
    """Run turnserver for the block; its log is `workdir/turnserver.log`. With `tls` it also takes TLS
    connections on `tls_port`."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn's `turnserver` is required (apt-get install -y coturn)", pytrace=False)
    port, secret = free_port(), secrets.token_hex(16)
    tls_port = free_port() if tls else None
    relay_low = 49152 + secrets.randbelow(10000)
    args = [
        binary, "-n", f"--listening-port={port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        "--allowed-peer-ip=127.0.0.1", "--allow-loopback-peers", f"--min-port={relay_low}", f"--max-port={relay_low + 200}",
        "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=telemed", "--fingerprint",
        "--no-cli", "--no-dtls", "--log-file=stdout", "--simple-log",
        f"--userdb={workdir / 'turndb'}", f"--pidfile={workdir / 'turnserver.pid'}",
    ]  # fmt: skip
    if tls:
        args += [f"--tls-listening-port={tls_port}", f"--cert={tls.cert}", f"--pkey={tls.key}"]
    else:
        args.append("--no-tls")
    with open(workdir / "turnserver.log", "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            for listening in (port, tls_port) if tls_port else (port,):
                _wait_listening(listening, process)
            yield Turn(port, secret, tls_port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
