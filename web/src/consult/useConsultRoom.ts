// A consult or teaching room as React state: the signalling socket, the local media, the mesh and what
// the room page shows (peers, their streams and quality, chat, the waiting list, recording, the shared
// viewer's state and the others' pointer). Network reports go to the server every 5 s; the server
// answers everyone with each peer's level.
//
// Who gets our media: every peer present when we join (we offer), except HLS watchers (`media: false`)
// and the recorder (role `server`), which gets it only once we have consented. Observers (trainees)
// send nothing and may not offer: the others offer to them.

import { useCallback, useEffect, useRef, useState } from "react";
import { EMPTY_VIEWER_STATE, foldViewerEvent, type ViewerEvent, type ViewerState } from "../sharedViewer/state";
import type { PointerPosition } from "../sharedViewer/PointerLayer";
import { getRtcConfig, roomUrl } from "./api";
import { PeerMesh } from "./mesh";
import { applyProfile, openLocalMedia } from "./profiles";
import type { ChatLine, MediaProfile, PeerInfo, QualityLevel, RoomInfo, RoomRole, ServerFrame } from "./protocol";
import { qualityLevel, StatsSampler, worstSample, type NetworkSample } from "./quality";
import { SignalingClient } from "./signaling";

const NETWORK_REPORT_MS = 5000;

export type RoomPhase = "connecting" | "waiting" | "in_room" | "reconnecting" | "denied" | "ended" | "closed";

export interface ConsultRoomState {
  phase: RoomPhase;
  reason: string | null;
  selfId: string | null;
  role: RoomRole | null;
  room: RoomInfo | null;
  peers: PeerInfo[];
  streams: Record<string, MediaStream>;
  chat: ChatLine[];
  waiting: PeerInfo[];
  local: MediaStream | null;
  audio: boolean;
  video: boolean;
  profile: MediaProfile;
  consent: boolean;
  network: NetworkSample | null;
  quality: QualityLevel | null;
  error: string | null;
  viewer: ViewerState;
  /** The last pointer position someone else showed (not folded into the viewer state). */
  pointer: PointerPosition | null;
}

const INITIAL: ConsultRoomState = {
  phase: "connecting",
  reason: null,
  selfId: null,
  role: null,
  room: null,
  peers: [],
  streams: {},
  chat: [],
  waiting: [],
  local: null,
  audio: true,
  video: true,
  profile: "normal",
  consent: false,
  network: null,
  quality: null,
  error: null,
  viewer: EMPTY_VIEWER_STATE,
  pointer: null,
};

function upsert(peers: PeerInfo[], peer: PeerInfo): PeerInfo[] {
  const rest = peers.filter((p) => p.peer_id !== peer.peer_id);
  return [...rest, peer];
}

function patchPeer(peers: PeerInfo[], peerId: string, patch: Partial<PeerInfo>): PeerInfo[] {
  return peers.map((p) => (p.peer_id === peerId ? { ...p, ...patch } : p));
}

function peerOf(frame: PeerInfo & { type: string }): PeerInfo {
  const { type: _type, ...peer } = frame;
  return peer;
}

/** Whether we send our media to this peer when one of us joins. */
function takesMedia(peer: PeerInfo): boolean {
  return peer.media !== false && peer.role !== "server" && !peer.away;
}

/**
 * `room`: `case-<id>` or `teaching-<id>`. `observer`: we join as an observer (a trainee): no camera or
 * microphone is opened and we never offer.
 */
export function useConsultRoom(room: string, observer = false) {
  const [state, setState] = useState<ConsultRoomState>(INITIAL);
  const signaling = useRef<SignalingClient | null>(null);
  const mesh = useRef<PeerMesh | null>(null);
  const local = useRef<MediaStream | null>(null);
  const media = useRef({ audio: true, video: true, profile: "normal" as MediaProfile });
  const consented = useRef(false);
  const recorders = useRef(new Set<string>());
  /** Observers that take WebRTC media: they cannot offer, so we call them. */
  const watchers = useRef(new Set<string>());
  const patch = useCallback((p: Partial<ConsultRoomState>) => setState((s) => ({ ...s, ...p })), []);

  useEffect(() => {
    const abort = new AbortController();
    let client: SignalingClient | null = null;
    const onStream = (peerId: string, stream: MediaStream | null) =>
      setState((s) => {
        const streams = { ...s.streams };
        if (stream) streams[peerId] = stream;
        else delete streams[peerId];
        return { ...s, streams };
      });

    const sendMedia = () => client?.send({ type: "media", ...media.current });

    const onFrame = (frame: ServerFrame) => {
      switch (frame.type) {
        case "welcome": {
          mesh.current?.closeAll();
          mesh.current = new PeerMesh(frame.peer_id, frame.ice_servers, local.current!, client!, onStream);
          const others = frame.peers.filter((p) => p.peer_id !== frame.peer_id);
          const self = frame.peers.find((p) => p.peer_id === frame.peer_id);
          consented.current = self?.consent ?? false;
          recorders.current = new Set(others.filter((p) => p.role === "server").map((p) => p.peer_id));
          watchers.current = new Set(others.filter((p) => p.role === "observer" && p.media !== false).map((p) => p.peer_id));
          if (frame.role !== "observer") {
            for (const peer of others) if (takesMedia(peer)) mesh.current.call(peer.peer_id);
            // Back in a recorded room having consented before (a resumed socket): the recorder gets us again.
            if (consented.current) for (const id of recorders.current) mesh.current.call(id);
          }
          patch({
            phase: "in_room",
            selfId: frame.peer_id,
            role: frame.role,
            room: frame.room,
            peers: others,
            consent: consented.current,
            viewer: frame.state ?? EMPTY_VIEWER_STATE,
            pointer: null,
          });
          sendMedia();
          break;
        }
        case "waiting":
          patch({ phase: "waiting", selfId: frame.peer_id });
          break;
        case "waiting_list":
          patch({ waiting: frame.peers });
          break;
        case "denied":
          patch({ phase: "denied" });
          break;
        case "peer_joined":
          // The recorder joins when recording starts, which needs everyone's consent: send it our media.
          // (Joining later, while it runs, we offer only once we consent: nobody is recorded without it.)
          // An observer cannot offer: we do, unless it watches the HLS broadcast instead.
          if (frame.role === "server") {
            recorders.current.add(frame.peer_id);
            if (!observer && consented.current) mesh.current?.call(frame.peer_id);
          } else if (frame.role === "observer" && frame.media !== false) {
            watchers.current.add(frame.peer_id);
            if (!observer) mesh.current?.call(frame.peer_id);
          }
          setState((s) => (frame.peer_id === s.selfId ? s : { ...s, peers: upsert(s.peers, peerOf(frame)) }));
          break;
        case "peer_updated":
          // Our own description comes back too (after a `media` frame): the self tile has it already.
          setState((s) => (frame.peer_id === s.selfId ? s : { ...s, peers: upsert(s.peers, peerOf(frame)) }));
          break;
        case "peer_away":
          setState((s) => ({ ...s, peers: patchPeer(s.peers, frame.peer_id, { away: true }) }));
          break;
        case "peer_back":
          // It comes back with a new connection and offers afresh; the old one cannot be renegotiated.
          // An observer cannot offer: we call it again.
          mesh.current?.close(frame.peer_id);
          if (watchers.current.has(frame.peer_id) && !observer) mesh.current?.call(frame.peer_id);
          setState((s) => ({ ...s, peers: patchPeer(s.peers, frame.peer_id, { away: false }) }));
          break;
        case "peer_left":
          recorders.current.delete(frame.peer_id);
          watchers.current.delete(frame.peer_id);
          mesh.current?.close(frame.peer_id);
          setState((s) => ({ ...s, peers: s.peers.filter((p) => p.peer_id !== frame.peer_id) }));
          break;
        case "offer":
          void mesh.current?.onOffer(frame.from, frame.sdp);
          break;
        case "answer":
          void mesh.current?.onAnswer(frame.from, frame.sdp);
          break;
        case "ice":
          void mesh.current?.onIce(frame.from, frame.candidate);
          break;
        case "viewer": {
          const { event } = frame;
          if (event.kind === "pointer") {
            const pointer = { x: event.x, y: event.y };
            setState((s) => (frame.from === s.selfId ? s : { ...s, pointer }));
          } else {
            setState((s) => ({ ...s, viewer: foldViewerEvent(s.viewer, frame.seq, event), pointer: event.kind === "open" ? null : s.pointer }));
          }
          break;
        }
        case "chat": {
          const line: ChatLine = { seq: frame.seq, from: frame.from, display_name: frame.display_name, text: frame.text, at: frame.at };
          setState((s) => ({ ...s, chat: [...s.chat, line] }));
          break;
        }
        case "muted":
          local.current?.getAudioTracks().forEach((track) => (track.enabled = false));
          media.current = { ...media.current, audio: false };
          patch({ audio: false });
          sendMedia();
          break;
        case "recording":
          setState((s) => (s.room ? { ...s, room: { ...s.room, recording: frame.state === "on" } } : s));
          break;
        case "network_quality":
          setState((s) => ({ ...s, peers: patchPeer(s.peers, frame.peer_id, { quality: frame.level }) }));
          break;
        case "room":
          patch({ room: frame.room });
          break;
        case "leader":
          setState((s) => (s.room ? { ...s, room: { ...s.room, leader: frame.peer_id } } : s));
          break;
        case "ended":
          patch({ phase: "ended" });
          break;
        case "error":
          patch({ error: frame.detail || frame.error });
          break;
        default:
          break;
      }
    };

    void (async () => {
      try {
        const [config, stream] = await Promise.all([
          getRtcConfig(abort.signal),
          observer ? Promise.resolve(new MediaStream()) : openLocalMedia(),
        ]);
        if (abort.signal.aborted) {
          stream.getTracks().forEach((track) => track.stop());
          return;
        }
        local.current = stream;
        media.current.video = stream.getVideoTracks().length > 0;
        patch({ local: stream, video: media.current.video });
        client = new SignalingClient(roomUrl(config, room), {
          onFrame,
          onStatus: (status, reason) => {
            if (status === "reconnecting") patch({ phase: "reconnecting" });
            if (status === "closed")
              setState((s) => (s.phase === "denied" || s.phase === "ended" ? s : { ...s, phase: "closed", reason: reason ?? null }));
          },
        });
        signaling.current = client;
        client.connect();
      } catch (error) {
        if (!abort.signal.aborted) patch({ phase: "closed", error: error instanceof Error ? error.message : String(error) });
      }
    })();

    const sampler = new StatsSampler();
    const reporter = window.setInterval(async () => {
      const connections = [...(mesh.current?.connections().values() ?? [])];
      const samples = (await Promise.all(connections.map((pc) => sampler.sample(pc)))).filter(
        (s): s is NetworkSample => s !== null,
      );
      const worst = worstSample(samples);
      if (!worst) return;
      client?.send({ type: "network", ...worst });
      patch({ network: worst, quality: qualityLevel(worst) });
    }, NETWORK_REPORT_MS);

    return () => {
      abort.abort();
      window.clearInterval(reporter);
      client?.close();
      mesh.current?.closeAll();
      mesh.current = null;
      local.current?.getTracks().forEach((track) => track.stop());
      local.current = null;
    };
  }, [room, observer, patch]);

  const send = useCallback((frame: Parameters<SignalingClient["send"]>[0]) => signaling.current?.send(frame), []);

  const setProfile = useCallback(
    async (profile: MediaProfile) => {
      if (!local.current) return;
      const video = await applyProfile(profile, local.current, mesh.current);
      media.current = { ...media.current, profile, video };
      patch({ profile, video, local: local.current });
      send({ type: "media", ...media.current });
    },
    [patch, send],
  );

  const toggleAudio = useCallback(() => {
    const audio = !media.current.audio;
    local.current?.getAudioTracks().forEach((track) => (track.enabled = audio));
    media.current = { ...media.current, audio };
    patch({ audio });
    send({ type: "media", ...media.current });
  }, [patch, send]);

  const setConsent = useCallback(
    (consent: boolean) => {
      const before = consented.current;
      consented.current = consent;
      patch({ consent });
      send({ type: "consent", recording: consent });
      // Consenting while the recorder runs (we joined late): only now does it get our media; withdrawn, it
      // gets none any more.
      if (observer || consent === before) return;
      for (const id of recorders.current) {
        if (consent) mesh.current?.call(id);
        else mesh.current?.close(id);
      }
    },
    [patch, send, observer],
  );

  const sendViewer = useCallback((event: ViewerEvent) => send({ type: "viewer", event }), [send]);
  const handOver = useCallback((to: string) => send({ type: "leader", to }), [send]);

  return { state, send, setProfile, toggleAudio, setConsent, sendViewer, handOver };
}
