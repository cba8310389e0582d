// Where the signalling server is and this user's ICE servers (server/api/consults.py).

import { request } from "../api";
import type { RtcConfig } from "../schema";

export type { RtcConfig } from "../schema";

export function getRtcConfig(signal?: AbortSignal): Promise<RtcConfig> {
  return request<RtcConfig>("GET", "/api/rtc/config", { signal });
}

/** `room`: `case-<id>` (a case's consult) or `teaching-<id>` (a teaching session). */
export function roomUrl(config: RtcConfig, room: string): string {
  return `${config.signaling_url}/ws/rooms/${encodeURIComponent(room)}`;
}
