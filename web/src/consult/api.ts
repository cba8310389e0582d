// Where the signalling server is and this user's ICE servers (server/api/consults.py).

import { request } from "../api";

export interface RtcConfig {
  signaling_url: string;
  ice_servers: RTCIceServer[];
  grace_seconds: number;
}

export function getRtcConfig(signal?: AbortSignal): Promise<RtcConfig> {
  return request<RtcConfig>("GET", "/api/rtc/config", { signal });
}

/** `room`: `case-<id>` (a case's consult) or `teaching-<id>` (a teaching session). */
export function roomUrl(config: RtcConfig, room: string): string {
  return `${config.signaling_url}/ws/rooms/${encodeURIComponent(room)}`;
}
