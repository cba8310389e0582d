// What a host may do: admit or deny the waiting, mute or remove a peer, start/stop recording, end.

import { useTranslation } from "react-i18next";
import type { ClientFrame, PeerInfo } from "./protocol";

interface Props {
  waiting: PeerInfo[];
  peers: PeerInfo[];
  recording: boolean;
  send: (frame: ClientFrame) => void;
}

export default function HostControls({ waiting, peers, recording, send }: Props) {
  const { t } = useTranslation();
  const people = peers.filter((p) => p.role !== "server");
  return (
    <section className="consult-host" data-testid="consult-host-controls">
      <h2 className="section-title">{t("consultRoom.host.title")}</h2>
      {waiting.length ? (
        <ul className="consult-waiting-list" data-testid="consult-waiting-list">
          {waiting.map((peer) => (
            <li key={peer.peer_id}>
              {peer.display_name}{" "}
              <button type="button" className="btn btn-primary" onClick={() => send({ type: "admit", peer_id: peer.peer_id })} data-testid="consult-admit">
                {t("consultRoom.host.admit")}
              </button>{" "}
              <button type="button" className="btn btn-secondary" onClick={() => send({ type: "deny", peer_id: peer.peer_id })}>
                {t("consultRoom.host.deny")}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <ul className="consult-peer-list">
        {people.map((peer) => (
          <li key={peer.peer_id}>
            {peer.display_name}{" "}
            <button type="button" className="btn btn-secondary" disabled={!peer.audio} onClick={() => send({ type: "moderate", action: "mute", peer_id: peer.peer_id })}>
              {t("consultRoom.host.mute")}
            </button>{" "}
            <button type="button" className="btn btn-secondary" onClick={() => send({ type: "moderate", action: "remove", peer_id: peer.peer_id })}>
              {t("consultRoom.host.remove")}
            </button>
          </li>
        ))}
      </ul>
      <p>
        <button type="button" className="btn btn-secondary" onClick={() => send({ type: "recording", action: recording ? "stop" : "start" })} data-testid="consult-recording-toggle">
          {recording ? t("consultRoom.host.stopRecording") : t("consultRoom.host.startRecording")}
        </button>{" "}
        <button type="button" className="btn btn-danger" onClick={() => send({ type: "moderate", action: "end" })} data-testid="consult-end">
          {t("consultRoom.host.end")}
        </button>
      </p>
    </section>
  );
}
