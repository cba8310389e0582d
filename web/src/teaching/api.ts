// Typed client of the teaching library (教学库) and of the live broadcast (网络收看): the contract of
// server/api/teaching_library.py and of the signalling server's `/broadcast/<room>`.

import { ApiError, request } from "../api";
import { getRtcConfig, roomUrl } from "../consult/api";
import type { ViewerEvent } from "../sharedViewer/state";

export type LibraryItemState = "preparing" | "ready" | "failed";

export interface LibraryItemSummary {
  id: number;
  title: string;
  specialty: string;
  kind: string;
  host_name: string;
  institution: string;
  held_at: string | null;
  duration_ms: number | null;
  poster_url: string | null;
  state: LibraryItemState;
  chapters: number;
}

export interface Chapter {
  t_ms: number;
  title: string;
  source: "host" | "viewer";
}

export interface LibraryMedia {
  video: string;
  hls: string;
  poster: string | null;
  chapters_vtt: string;
}

/** A chat line's payload as the room stored it; the display name when the server adds it. */
export interface ChatPayload {
  text: string;
  display_name?: string;
}

export type LibraryEvent =
  | { seq: number; t_ms: number; kind: "viewer"; payload: ViewerEvent }
  | { seq: number; t_ms: number; kind: "chat"; payload: ChatPayload };

export interface Material {
  kind: "study" | "slide" | "ecg";
  id: string;
  description: string;
  burned_in_warning: boolean;
}

export interface LibraryItem {
  id: number;
  title: string;
  specialty: string;
  description: string | null;
  kind: string;
  state: LibraryItemState;
  /** Why preparing failed, for the host and the admin. */
  error?: string | null;
  duration_ms: number | null;
  chapters: Chapter[];
  media: LibraryMedia;
  events: LibraryEvent[];
  materials: Material[];
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
  const data = await request<{ items: LibraryItemSummary[] }>("GET", `/api/teaching/library${suffix}`, { signal });
  return data.items ?? [];
}

/** A session of the community's teaching timetable (GET /api/teaching/schedule). */
export interface ScheduledSession {
  id: number;
  title: string;
  kind: string;
  host: { id: number; display_name: string; role: string } | null;
  institution: string;
  scheduled_at: string;
  held_at: string | null;
  in_library: boolean;
}

export async function teachingSchedule(signal?: AbortSignal): Promise<ScheduledSession[]> {
  const data = await request<{ sessions: ScheduledSession[] }>("GET", "/api/teaching/schedule", { signal });
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
