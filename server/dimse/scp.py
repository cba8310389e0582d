"""DICOM C-STORE SCP: the modalities of village clinics and township centres push their images here.

Who may send is configured, never discovered: a calling AE title missing from TELEMED_DIMSE_PEERS is
rejected at association (A-ASSOCIATE-RJ, "calling AE title not recognised"), and an empty list rejects
every caller. Each peer's images belong to its institution (and, if configured, to an uploading user).

Every received instance goes through `server.dicom.receive.receive_instance` (ingested and audited as a
finished resumable upload's is), in its own transaction, with the bytes exactly as they arrived (pynetdicom's file meta in front of the undecoded data set).
C-STORE statuses: 0x0000 stored or already held; 0xB006 (warning, "element discarded") when the SOP
instance UID is already held with other bytes — kept aside as a conflict, so resending cannot help;
0xC000 when the data set is not a usable instance; 0xA700 when the database or object store is down
(or the instance could not be indexed), so the modality keeps the image and sends it again later.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from pydicom import uid
from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.association import Association
from pynetdicom.events import Event, EventHandlerType
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # made at import time from pynetdicom's UID table
from sqlalchemy import exc, select
from sqlalchemy.orm import Session, sessionmaker

from server.access.actor import Actor
from server.community.models import Institution, User
from server.core.config import ConfigError, DimsePeer, Settings
from server.core.db import make_engine, make_session_factory, transaction
from server.core.tasks import TaskClient, TaskMessage
from server.dicom.ingest import IndexingConflict, IngestOutcome, InvalidDicom, queue_previews
from server.dicom.receive import receive_instance, refuse_instance
from server.storage import ObjectStore, StorageError, open_store

log = logging.getLogger(__name__)

# Image transfer syntaxes, compressed ones included so images are stored as the modality encoded them.
# Video (MPEG, HEVC) and referenced-pixel (JPIP) syntaxes are left out: the viewer cannot show them.
TRANSFER_SYNTAXES = [
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLossless,
    uid.JPEGLosslessSV1,
    uid.JPEGLSLossless,
    uid.JPEGLSNearLossless,
    uid.JPEG2000Lossless,
    uid.JPEG2000,
    uid.HTJ2KLossless,
    uid.HTJ2KLosslessRPCL,
    uid.HTJ2K,
    uid.RLELossless,
]
# The largest PDU dcmtk will send; bigger PDUs mean fewer round trips on slow village links.
MAX_PDU_SIZE = 131072
# Each association holds its current data set in memory; this bounds how many run at once.
MAX_ASSOCIATIONS = 8
# Seconds: association set-up, a DIMSE message, and silence on the link before the association is
# aborted, so a dead village connection never holds a thread for long.
ACSE_TIMEOUT = 30
DIMSE_TIMEOUT = 60
NETWORK_TIMEOUT = 60
# On SIGTERM, established associations get this long to finish before they are aborted (connections
# still negotiating, such as a bare TCP health check, are aborted at once).
SHUTDOWN_GRACE = 10

SUCCESS = 0x0000
WARNING_CONFLICT = 0xB006
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
# A-ASSOCIATE-RJ: rejected permanent, by the service user, "calling AE title not recognised" (PS3.8 9.3.4).
REJECT_UNKNOWN_CALLER = (0x01, 0x01, 0x03)
# Database failures that mean "not now" rather than "never": the modality should send again later.
DATABASE_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)


@dataclass(frozen=True)
class Peer:
    """A configured calling AE, checked against the database."""

    ae_title: str
    institution_id: int
    user_id: int | None


def resolve_peers(db: Session, peers: tuple[DimsePeer, ...]) -> dict[str, Peer]:
    """Check each configured peer now, so a wrong institution or user fails at start, not mid-study."""
    resolved = {}
    for peer in peers:
        if db.get(Institution, peer.institution_id) is None:
            raise ConfigError(
                f"TELEMED_DIMSE_PEERS: {peer.ae_title} names institution {peer.institution_id}, which does not exist"
            )
        user_id = None
        if peer.username is not None:
            user = db.scalar(select(User).where(User.username == peer.username))
            if user is None or not user.active or user.institution_id != peer.institution_id:
                raise ConfigError(
                    f"TELEMED_DIMSE_PEERS: {peer.ae_title} names user {peer.username!r}, which is not an"
                    f" active user of institution {peer.institution_id}"
                )
            user_id = user.id
        resolved[peer.ae_title] = Peer(peer.ae_title, peer.institution_id, user_id)
    return resolved


def _status(code: int, comment: str = "") -> Dataset:
    """A C-STORE response status; the comment is cut to an ASCII LO value (64 characters)."""
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment.encode("ascii", "replace").decode().replace("\\", "/")[:64]
    return status


class StoreScp:
    """The SCP's handlers, with the per-process session factory, object store, task queue and peers."""

    def __init__(
        self, factory: sessionmaker[Session], store: ObjectStore, tasks: TaskClient, peers: dict[str, Peer]
    ) -> None:
        self.factory = factory
        self.store = store
        self.tasks = tasks
        self.peers = peers
        # What each open association stored, for previews once it closes (as STOW-RS does per request).
        self._stored: dict[Association, list[IngestOutcome]] = {}
        self._lock = threading.Lock()

    def check_caller(self, event: Event) -> None:
        """EVT_REQUESTED: reject an unknown calling AE before anything is negotiated."""
        request = event.assoc.requestor.primitive
        assert request is not None  # EVT_REQUESTED is raised by the A-ASSOCIATE-RQ it holds
        calling = request.calling_ae_title
        if calling in self.peers:
            return
        log.warning(
            "rejected association from %s: calling AE title %r is not in TELEMED_DIMSE_PEERS",
            event.assoc.requestor.address,
            calling,
        )
        event.assoc.acse.send_reject(*REJECT_UNKNOWN_CALLER)
        event.assoc.kill()

    def store_instance(self, event: Event) -> Dataset:
        """EVT_C_STORE: ingest the instance as sent, audit it, and answer with a status."""
        peer = self.peers[event.assoc.requestor.ae_title]
        address = event.assoc.requestor.address
        detail = {"via": "c-store", "calling_ae": peer.ae_title}
        try:
            outcome = self._ingest(peer, address, event.encoded_dataset(), detail)
        except InvalidDicom as error:
            log.warning("refused an instance from %s (%s): %s", peer.ae_title, address, error.reason)
            self._audit_refusal(peer, address, detail, error.reason)
            return _status(CANNOT_UNDERSTAND, error.reason)
        except (StorageError, *DATABASE_UNAVAILABLE) as error:
            log.error(
                "could not store an instance from %s, asked it to send again later: %s", peer.ae_title, error
            )
            return _status(OUT_OF_RESOURCES, "storage unavailable, send again later")
        if outcome is None:
            return _status(OUT_OF_RESOURCES, "busy with the same study, send again later")
        with self._lock:
            self._stored.setdefault(event.assoc, []).append(outcome)
        if outcome.status == "conflict":
            return _status(WARNING_CONFLICT, "already stored with other bytes; kept aside as a conflict")
        return _status(SUCCESS)

    def _ingest(self, peer: Peer, address: str, data: bytes, detail: dict[str, str]) -> IngestOutcome | None:
        """Ingest and audit in one transaction; None if concurrent uploads kept it from being indexed
        (the modality is told to send again later rather than "stored" for an image not indexed)."""
        try:
            with transaction(self.factory) as db:
                actor = self._actor(db, peer, address)
                return receive_instance(
                    db, actor, self.store, data, institution_id=peer.institution_id, via=detail
                )
        except IndexingConflict as exc:
            log.warning("%s", exc)
            return None

    @staticmethod
    def _actor(db: Session, peer: Peer, address: str) -> Actor:
        """Who sends for `peer`: its configured uploading user, else the platform; from `address`."""
        return Actor(db.get(User, peer.user_id) if peer.user_id else None, ip=address)

    def queue_previews(self, event: Event) -> None:
        """EVT_CONN_CLOSE: previews of what the association stored, and a thumbnail per series it touched.

        Queued once the association ends, so a series' thumbnail is made from the whole series. The
        instances are committed by then: a broker that cannot be reached loses previews, not images.
        """
        with self._lock:
            outcomes = self._stored.pop(event.assoc, [])
        try:
            queue_previews(self._send_task, outcomes)
        except Exception:
            log.exception("could not queue previews of %d instances", len(outcomes))

    def _send_task(self, name: str, *args: Any) -> None:
        self.tasks.send(TaskMessage(name, args))

    def _audit_refusal(self, peer: Peer, address: str, detail: dict[str, str], reason: str) -> None:
        try:
            with transaction(self.factory) as db:
                refuse_instance(db, self._actor(db, peer, address), reason, via=detail)
        except DATABASE_UNAVAILABLE as error:
            log.error("could not audit the refused instance from %s: %s", peer.ae_title, error)

    def application_entity(self, ae_title: str) -> AE:
        ae = AE(ae_title=ae_title)
        for context in AllStoragePresentationContexts:
            assert context.abstract_syntax is not None  # pynetdicom's storage contexts all name one
            ae.add_supported_context(context.abstract_syntax, TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        ae.maximum_pdu_size = MAX_PDU_SIZE
        ae.maximum_associations = MAX_ASSOCIATIONS
        ae.acse_timeout = ACSE_TIMEOUT
        ae.dimse_timeout = DIMSE_TIMEOUT
        ae.network_timeout = NETWORK_TIMEOUT
        return ae

    def handlers(self) -> list[EventHandlerType]:
        return [
            (evt.EVT_REQUESTED, self.check_caller),
            (evt.EVT_C_STORE, self.store_instance),
            (evt.EVT_CONN_CLOSE, self.queue_previews),
        ]


def serve(settings: Settings) -> int:
    """Run the SCP in the foreground until SIGTERM or SIGINT; associations run on pynetdicom's threads."""
    factory = make_session_factory(make_engine(settings.database_url))
    with transaction(factory) as db:
        peers = resolve_peers(db, settings.dimse_peers)
    scp = StoreScp(factory, open_store(settings), TaskClient(settings), peers)
    ae = scp.application_entity(settings.dimse_ae_title)
    address = (settings.host, settings.dimse_port)
    try:
        server = ae.start_server(address, block=False, evt_handlers=scp.handlers())
        assert server is not None  # a non-blocking start returns its server
    except OSError as error:
        log.error("cannot listen on %s:%s (TELEMED_DIMSE_PORT): %s", *address, error)
        return 1

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if peers:
        log.info("C-STORE SCP %s listening on %s:%s for %s", ae.ae_title, *address, ", ".join(peers))
    else:
        log.warning(
            "C-STORE SCP %s listening on %s:%s, but TELEMED_DIMSE_PEERS is empty: every association is rejected",
            ae.ae_title,
            *address,
        )
    while not stop.wait(1):
        pass

    server.shutdown()  # stop accepting; established associations may finish what they are sending
    deadline = time.monotonic() + SHUTDOWN_GRACE
    while any(assoc.is_established for assoc in ae.active_associations) and time.monotonic() < deadline:
        time.sleep(0.1)
    ae.shutdown()
    log.info("C-STORE SCP stopped")
    return 0
