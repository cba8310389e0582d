import { useEffect, useRef, useState } from "react";
import { WORKLIST_STREAM } from "../api";

/** What the server sends for each step of a case the user may see (no patient data). */
export interface CaseStreamEvent {
  event_id: number;
  case_id: number;
  action: string;
  from_status: string;
  to_status: string;
  at: string;
  case: { status: string; kind: string; urgency: string; overdue: boolean };
}

/** connecting: opening or the browser is reconnecting; live: open; offline: waiting to try again. */
export type StreamState = "connecting" | "live" | "offline";

const MAX_BACKOFF_MS = 30_000;

/**
 * Subscribes to the worklist stream (GET /api/worklist/stream) while the component is mounted.
 *
 * The browser's EventSource reconnects by itself after a dropped connection (resuming after
 * Last-Event-ID), but gives up for good when the server answers with an error status; then this hook
 * opens a new one after a growing pause. `onOpen` runs on every (re)connection after the first, so the
 * caller can reload what it may have missed meanwhile.
 */
export function useWorklistStream(onEvent: (event: CaseStreamEvent) => void, onOpen: () => void): StreamState {
  const [state, setState] = useState<StreamState>("connecting");
  const handlers = useRef({ onEvent, onOpen });
  handlers.current = { onEvent, onOpen };

  useEffect(() => {
    let source: EventSource | null = null;
    let retryTimer: number | undefined;
    let failures = 0;
    let opened = false;

    const connect = () => {
      setState("connecting");
      const current = new EventSource(WORKLIST_STREAM);
      source = current;
      current.onopen = () => {
        failures = 0;
        setState("live");
        if (opened) handlers.current.onOpen();
        opened = true;
      };
      current.addEventListener("case", (message) => {
        try {
          handlers.current.onEvent(JSON.parse((message as MessageEvent<string>).data) as CaseStreamEvent);
        } catch {
          // A frame that is not JSON is not ours to act on.
        }
      });
      // The login session ended: the next API call leads to the login page; no point reconnecting.
      current.addEventListener("end", () => {
        current.close();
        setState("offline");
      });
      current.onerror = () => {
        if (current.readyState !== EventSource.CLOSED) {
          setState("connecting");
          return;
        }
        setState("offline");
        failures += 1;
        retryTimer = window.setTimeout(connect, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures));
      };
    };

    connect();
    return () => {
      window.clearTimeout(retryTimer);
      source?.close();
    };
  }, []);

  return state;
}
