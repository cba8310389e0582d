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
  /** Closing the tab says `bye`, so the others see us leave now, not after the grace period. */
  private readonly onPageHide = () => this.close();

  constructor(
    private readonly url: string,
    private readonly handlers: SignalingHandlers,
  ) {}

  connect(): void {
    this.stopped = false;
    window.addEventListener("pagehide", this.onPageHide);
    this.open();
  }

  send(frame: ClientFrame): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /** Leave for good: `bye` lets the others see us go now rather than after the grace period. */
  close(): void {
    window.removeEventListener("pagehide", this.onPageHide);
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    this.send({ type: "bye" });
    this.socket?.close(1000);
    this.socket = null;
  }

  private open(): void {
    const url = new URL(this.url, window.location.href);
    if (this.resumeToken) url.searchParams.set("resume", this.resumeToken);
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
