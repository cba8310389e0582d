// Typed client of the teaching library (教学库) and of the live broadcast (网络收看): the contract of
// server/api/teaching_library.py and of the signalling server's `/broadcast/<room>`.

import { ApiError, request } from "../api";
import { getRtcConfig, roomUrl } from "../consult/api";
import type { LibraryItem, LibraryItems, LibraryItemSummary, ScheduledSession, Timetable } from "../schema";
import type { ViewerEvent } from "../sharedViewer/state";

export type { Chapter, LibraryItem, LibraryItemSummary, LibraryMaterial as Material, LibraryMedia, ScheduledSession } from "../schema";

/** The states the UI labels; the document types `state` as a string, shown raw when it is none of these. */
export const LIBRARY_ITEM_STATES = ["preparing", "ready", "failed"] as const;
export type LibraryItemState = (typeof LIBRARY_ITEM_STATES)[number];

/** The kinds of material the UI labels (`kind` of a material; a string in the document). */
export const MATERIAL_KINDS = ["study", "slide", "ecg"] as const;

/** A chat line's payload as the room stored it; the display name when the server adds it. */
export interface ChatPayload {
  text: string;
  display_name?: string;
}

/**
 * A recorded room event as the player replays it. The document types a library item's `events` as
 * free-form objects (they are the signalling protocol's frames, sharedViewer/state.ts and
 * consult/protocol.ts), so `libraryEvents` keeps those of the two kinds the player knows.
 */
export type LibraryEvent =
  | { seq: number; t_ms: number; kind: "viewer"; payload: ViewerEvent }
  | { seq: number; t_ms: number; kind: "chat"; payload: ChatPayload };

export function libraryEvents(events: LibraryItem["events"]): LibraryEvent[] {
  return events.flatMap((event): LibraryEvent[] => {
    const { seq, t_ms, kind, payload } = event;
    if (typeof seq !== "number" || typeof t_ms !== "number" || !payload || typeof payload !== "object") return [];
    if (kind === "viewer") return [{ seq, t_ms, kind, payload: payload as ViewerEvent }];
    if (kind === "chat" && typeof (payload as { text?: unknown }).text === "string") return [{ seq, t_ms, kind, payload: payload as ChatPayload }];
    return [];
  });
}

export interface LibraryQuery {
  q?: string;
  specialty?: string;
}

export async function listLibrary(query: LibraryQuery, signal?: AbortSignal): Promise<LibraryItemSummary[]> {
  const params = new URLSearchParams();
  if (query.q) params.set("q", query.q);
  if (query.specialty) params.set("specialty", query.specialty);
  const suffix = params.size ? `?${params}` : "";
  const data = await request<LibraryItems>("GET", `/api/teaching/library${suffix}`, { signal });
  return data.items ?? [];
}

export async function teachingSchedule(signal?: AbortSignal): Promise<ScheduledSession[]> {
  const data = await request<Timetable>("GET", "/api/teaching/schedule", { signal });
  return data.sessions ?? [];
}

export function getLibraryItem(itemId: number | string, signal?: AbortSignal): Promise<LibraryItem> {
  return request<LibraryItem>("GET", `/api/teaching/library/${encodeURIComponent(String(itemId))}`, { signal });
}

/**
 * Where a trainee's viewer reads the de-identified copies of a library item (contract.md): studies,
 * slides and ECGs.
 */
export const TEACHING_SOURCES = {
  dicomweb: "/api/teaching/dicomweb",
  slideBase: (id: string) => `/api/teaching/slides/${encodeURIComponent(id)}`,
  ecgBase: (id: string) => `/api/teaching/ecgs/${encodeURIComponent(id)}`,
};

/** Where clinical users' viewers read the originals (a live room's events name those). */
export const CLINICAL_SOURCES = {
  dicomweb: "/dicomweb",
  slideBase: (id: string) => `/api/slides/${encodeURIComponent(id)}`,
  ecgBase: (id: string) => `/api/ecgs/${encodeURIComponent(id)}`,
};

export interface Broadcast {
  hls_url: string;
  expires_at?: string;
  segment_seconds?: number;
  /** The stated delay behind live, in seconds. */
  target_latency_seconds?: number;
  latency_note?: string;
}

export interface LiveEndpoints {
  /** The teaching room's WebSocket, as an HLS watcher (chat and viewer events, no WebRTC media). */
  roomUrl: string;
  /** The signalling server's HTTP origin, which serves `/broadcast/<room>`. */
  httpBase: string;
}

export async function liveEndpoints(sessionId: number | string, signal?: AbortSignal): Promise<LiveEndpoints> {
  const config = await getRtcConfig(signal);
  return {
    roomUrl: `${roomUrl(config, `teaching-${sessionId}`)}?watch=hls`,
    httpBase: config.signaling_url.replace(/\/$/, "").replace(/^ws(s?):/, "http$1:"),
  };
}

/**
 * The room's live HLS playlist (a time-limited URL). The signalling server is another origin (its own
 * port), so the session cookie goes with `credentials: "include"`; 404 `not_live` while nothing is broadcast.
 */
export async function getBroadcast(httpBase: string, sessionId: number | string, signal?: AbortSignal): Promise<Broadcast> {
  const url = `${httpBase}/broadcast/teaching-${encodeURIComponent(String(sessionId))}`;
  let response: Response;
  try {
    response = await fetch(url, { credentials: "include", headers: { Accept: "application/json" }, signal });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", null);
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const code = typeof body.error === "string" ? body.error : `http_${response.status}`;
    throw new ApiError(response.status, code, typeof body.detail === "string" ? body.detail : null);
  }
  return body as unknown as Broadcast;
}
