"""Consults where UDP is blocked: the two participants meet relay-only through coturn with nothing but
a TURN-over-TCP URL, then nothing but a TURN-over-TLS (`turns:`) URL, as handed out by the signalling
server process. Each must receive the other's audio and video over a relay candidate that reaches coturn
over TCP (resp. TLS). Production serves `turns:` on 443; here coturn's TLS listener is on a free port,
its certificate from a throw-away CA that the test trusts through `SSL_CERT_FILE` (aioice connects with
Python's default TLS context, which reads it)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aioice.turn import create_turn_endpoint

from server.core.config import Settings
from tests.support.consult import meet, signalling_process, token, village_case_id
from tests.support.coturn import TlsFiles, Turn, coturn, tls_certificate
from tests.support.rtc import HEIGHT, WIDTH, RtcPeer


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def turn(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[Turn]:
    with coturn(tmp_path_factory.mktemp("coturn"), tls) as server:
        yield server


def turn_transports(peer: RtcPeer) -> set[str]:
    """How the local candidate of each nominated pair reaches coturn (`udp`, `tcp`, `tls`), read from
    aioice's TURN transport: aiortc's getStats has no candidate-pair entry."""
    found = set()
    for pc in peer.pcs.values():
        for transceiver in pc.getTransceivers():
            connection = transceiver.sender.transport.transport._connection
            for pair in connection._nominated.values():
                to_turn = pair.protocol.transport._TurnTransport__inner_protocol.transport  # type: ignore[attr-defined]  # aioice types it as DatagramTransport; it is aioice's TurnTransport, whose inner protocol is private (name-mangled)
                if to_turn.get_extra_info("ssl_object") is not None:
                    found.add("tls")
                else:
                    found.add("tcp" if to_turn.get_extra_info("socket").type == socket.SOCK_STREAM else "udp")
    return found


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_a_consult_works_over_turn_on_tcp_and_tls_alone(
    app: Any,
    settings: Settings,
    demo: None,
    session_factory: Any,
    turn: Turn,
    tls: TlsFiles,
    transport: str,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = turn.tcp_url if transport == "tcp" else turn.tls_url
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))

    async def scenario(room_url: str) -> None:
        village = RtcPeer(room_url, token(app, "village"), relay_only=True)
        reader = RtcPeer(room_url, token(app, "radiologist"), relay_only=True)
        try:
            await meet(village, reader)
            for peer in (village, reader):
                assert [s["urls"] for s in peer.welcome["ice_servers"]] == [[url]]
                assert peer.selected_candidate_types() == {("relay", "relay")}
                assert turn_transports(peer) == {transport}
                assert peer.received.video_sizes == {(WIDTH, HEIGHT)}
        finally:
            await reader.close()
            await village.close()

    with signalling_process(settings, [url], turn.secret, tmp_path / "signaling.log") as port:
        asyncio.run(scenario(f"ws://127.0.0.1:{port}/ws/rooms/case-{village_case_id(session_factory)}"))


def test_turns_refuses_a_server_the_client_does_not_trust(
    turn: Turn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the test CA the TLS handshake fails: `turns:` really is verified TLS, not TCP in disguise."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    server = turn.ice_server("42", url=turn.tls_url)

    async def allocate() -> None:
        transport, _ = await create_turn_endpoint(
            asyncio.DatagramProtocol,
            ("localhost", turn.tls_port or 0),
            str(server["username"]),
            str(server["credential"]),
            ssl=True,
            transport="tcp",
        )
        transport.close()

    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(allocate())
