// A live teaching session as an HLS watcher (网络收看): the room's socket with `?watch=hls` brings the chat
// (trainees ask questions there) and the viewer events the SharedViewer follows, with no WebRTC media
// (the picture comes from the broadcast's HLS); `/broadcast/<room>` says where that HLS is, or `not_live`.

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../api";
import type { ChatLine, RoomInfo, ServerFrame } from "../consult/protocol";
import { SignalingClient } from "../consult/signaling";
import { EMPTY_VIEWER_STATE, foldViewerEvent, type ViewerState } from "../sharedViewer/state";
import { getBroadcast, liveEndpoints, type Broadcast } from "./api";

/** While nothing is broadcast, ask again this often (a host may start any moment). */
const NOT_LIVE_RETRY_MS = 10_000;

export type WatchPhase = "connecting" | "in_room" | "reconnecting" | "ended" | "closed";

export type BroadcastStatus =
  | { status: "loading" }
  | { status: "live"; broadcast: Broadcast }
  | { status: "not_live" }
  | { status: "error"; error: unknown };

export interface LiveTeachingState {
  phase: WatchPhase;
  reason: string | null;
  room: RoomInfo | null;
  viewer: ViewerState;
  chat: ChatLine[];
  broadcast: BroadcastStatus;
}

const INITIAL: LiveTeachingState = {
  phase: "connecting",
  reason: null,
  room: null,
  viewer: EMPTY_VIEWER_STATE,
  chat: [],
  broadcast: { status: "loading" },
};

export function useLiveTeaching(sessionId: string) {
  const [state, setState] = useState<LiveTeachingState>(INITIAL);
  const [attempt, setAttempt] = useState(0);
  const client = useRef<SignalingClient | null>(null);
  const [httpBase, setHttpBase] = useState<string | null>(null);
  const patch = useCallback((p: Partial<LiveTeachingState>) => setState((s) => ({ ...s, ...p })), []);

  useEffect(() => {
    const abort = new AbortController();
    const onFrame = (frame: ServerFrame) => {
      switch (frame.type) {
        case "welcome":
          patch({ phase: "in_room", room: frame.room, viewer: frame.state ?? EMPTY_VIEWER_STATE });
          break;
        case "viewer":
          setState((s) => ({ ...s, viewer: foldViewerEvent(s.viewer, frame.seq, frame.event) }));
          break;
        case "chat": {
          const line: ChatLine = { seq: frame.seq, from: frame.from, display_name: frame.display_name, text: frame.text, at: frame.at };
          setState((s) => ({ ...s, chat: [...s.chat, line] }));
          break;
        }
        case "room":
          patch({ room: frame.room });
          break;
        case "ended":
          patch({ phase: "ended" });
          break;
        default:
          break;
      }
    };
    void (async () => {
      try {
        const endpoints = await liveEndpoints(sessionId, abort.signal);
        setHttpBase(endpoints.httpBase);
        const socket = new SignalingClient(endpoints.roomUrl, {
          onFrame,
          onStatus: (status, reason) => {
            if (status === "reconnecting") patch({ phase: "reconnecting" });
            if (status === "closed") setState((s) => (s.phase === "ended" ? s : { ...s, phase: "closed", reason: reason ?? null }));
          },
        });
        client.current = socket;
        socket.connect();
      } catch (error) {
        if (!abort.signal.aborted) patch({ phase: "closed", reason: error instanceof Error ? error.message : String(error) });
      }
    })();
    return () => {
      abort.abort();
      client.current?.close();
      client.current = null;
    };
  }, [sessionId, patch]);

  // Where the HLS is: asked once the signalling server is known, again on `retry` and every while not live.
  useEffect(() => {
    if (!httpBase) return;
    const abort = new AbortController();
    let timer: number | undefined;
    getBroadcast(httpBase, sessionId, abort.signal)
      .then((broadcast) => patch({ broadcast: { status: "live", broadcast } }))
      .catch((error: unknown) => {
        if (abort.signal.aborted) return;
        if (error instanceof ApiError && error.code === "not_live") {
          patch({ broadcast: { status: "not_live" } });
          timer = window.setTimeout(() => setAttempt((n) => n + 1), NOT_LIVE_RETRY_MS);
        } else patch({ broadcast: { status: "error", error } });
      });
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [httpBase, attempt, sessionId, patch]);

  /** Ask again now (the button, or the player's fatal error): the old playlist is dropped meanwhile. */
  const retry = useCallback(() => {
    patch({ broadcast: { status: "loading" } });
    setAttempt((n) => n + 1);
  }, [patch]);
  const sendChat = useCallback((text: string) => client.current?.send({ type: "chat", text }), []);
  return { state, retry, sendChat };
}
