// One WebSocket to the signalling server for one room. The browser sends the session cookie itself (the
// signalling port is on the API's host); after a drop the client comes back with `?resume=<token>` inside
// the grace period so it keeps its peer id, role and consent.

import type { ClientFrame, ServerFrame } from "./protocol";

/** Close reasons after which reconnecting cannot help (docs/consults.md, "Authentication"). */
const FINAL_REASONS = new Set([
  "unauthenticated",
  "no_such_room",
  "forbidden",
  "trainee_not_allowed",
  "room_ended",
  "bad_origin",
  "denied",
]);

export type SignalingStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface SignalingHandlers {
  onFrame: (frame: ServerFrame) => void;
  onStatus: (status: SignalingStatus, reason?: string) => void;
}

export class SignalingClient {
  private socket: WebSocket | null = null;
  private resumeToken: string | null = null;
  private retryTimer: number | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly handlers: SignalingHandlers,
  ) {}

  connect(): void {
    this.stopped = false;
    this.open();
  }

  send(frame: ClientFrame): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /** Leave for good: `bye` lets the others see us go now rather than after the grace period. */
  close(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.send({ type: "bye" });
    this.socket?.close(1000);
    this.socket = null;
  }

  private open(): void {
    const url = this.resumeToken ? `${this.url}?resume=${encodeURIComponent(this.resumeToken)}` : this.url;
    const socket = new WebSocket(url);
    this.socket = socket;
    this.handlers.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    socket.onopen = () => {
      this.attempt = 0;
      this.handlers.onStatus("open");
    };
    socket.onmessage = (event: MessageEvent<string>) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === "welcome" || frame.type === "waiting") this.resumeToken = frame.resume_token;
      this.handlers.onFrame(frame);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped || event.code === 1000 || FINAL_REASONS.has(event.reason)) {
        this.handlers.onStatus("closed", event.reason || undefined);
        return;
      }
      this.attempt += 1;
      this.handlers.onStatus("reconnecting", event.reason || undefined);
      this.retryTimer = window.setTimeout(() => this.open(), Math.min(1000 * 2 ** (this.attempt - 1), 8000));
    };
  }
}
