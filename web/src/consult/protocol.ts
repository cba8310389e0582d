// The signalling frames of docs/consults.md, typed: what the browser sends and what the server answers.

import type { ViewerEvent, ViewerState } from "../sharedViewer/state";

export type RoomRole = "host" | "requester" | "participant" | "observer" | "server";
export type MediaProfile = "normal" | "low" | "audio_only";
export type QualityLevel = "good" | "fair" | "poor";

export const MEDIA_PROFILES: readonly MediaProfile[] = ["normal", "low", "audio_only"];

export interface PeerInfo {
  peer_id: string;
  user_id: number;
  display_name: string;
  role: RoomRole;
  institution: string | null;
  audio: boolean;
  video: boolean;
  profile: MediaProfile;
  consent: boolean;
  away: boolean;
  quality: QualityLevel | null;
  /** False for an HLS watcher (`?watch=hls`): it takes no WebRTC media, nobody offers to it. */
  media?: boolean;
}

export interface RoomInfo {
  name: string;
  kind: string;
  title: string;
  session_id: number | null;
  leader: string | null;
  waiting_room: boolean;
  recording: boolean;
}

export interface IceCandidateFrame {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export interface ChatLine {
  seq: number;
  from: string;
  display_name: string;
  text: string;
  at: string;
}

export type ServerFrame =
  | {
      type: "welcome";
      peer_id: string;
      resume_token: string;
      role: RoomRole;
      room: RoomInfo;
      peers: PeerInfo[];
      ice_servers: RTCIceServer[];
      grace_seconds: number;
      /** The room's viewer state so far: a late joiner sees what everybody sees. */
      state: ViewerState;
      last_seq: number;
    }
  | { type: "waiting"; peer_id: string; resume_token: string }
  | { type: "waiting_list"; peers: PeerInfo[] }
  | { type: "denied" }
  | ({ type: "peer_joined" } & PeerInfo)
  | ({ type: "peer_updated" } & PeerInfo)
  | { type: "peer_away"; peer_id: string }
  | { type: "peer_back"; peer_id: string }
  | { type: "peer_left"; peer_id: string; reason: "left" | "removed" | "timeout" }
  | { type: "offer"; from: string; sdp: string }
  | { type: "answer"; from: string; sdp: string }
  | { type: "ice"; from: string; candidate: IceCandidateFrame | null }
  | ({ type: "chat" } & ChatLine)
  | { type: "leader"; peer_id: string }
  | { type: "muted"; by: string }
  | { type: "recording"; state: "on" | "off"; by: string }
  | { type: "network_quality"; peer_id: string; level: QualityLevel }
  | { type: "room"; room: RoomInfo }
  | { type: "ended"; by: string }
  | { type: "viewer"; seq: number; t_ms: number; at: string; from: string; event: ViewerEvent }
  | { type: "pong" }
  | { type: "error"; error: string; detail: string };

export type ClientFrame =
  | { type: "offer" | "answer"; to: string; sdp: string }
  | { type: "ice"; to: string; candidate: IceCandidateFrame | null }
  | { type: "chat"; text: string }
  | { type: "viewer"; event: ViewerEvent }
  | { type: "leader"; to: string }
  | { type: "media"; audio: boolean; video: boolean; profile: MediaProfile }
  | { type: "network"; rtt_ms: number; loss: number; bitrate_kbps: number }
  | { type: "consent"; recording: boolean }
  | { type: "recording"; action: "start" | "stop" }
  | { type: "admit" | "deny"; peer_id: string }
  | { type: "moderate"; action: "mute" | "remove"; peer_id: string }
  | { type: "moderate"; action: "end" }
  | { type: "ping" }
  | { type: "bye" };
