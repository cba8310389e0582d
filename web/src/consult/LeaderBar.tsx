// Who leads the shared viewer, and for the leader or a host the hand-over (`leader` frame) to another
// participant who sends media (observers, HLS watchers and the recorder cannot lead).

import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { PeerInfo, RoomRole } from "./protocol";

interface Props {
  selfId: string | null;
  selfName: string;
  role: RoomRole | null;
  leader: string | null;
  peers: PeerInfo[];
  onHandOver: (peerId: string) => void;
}

export default function LeaderBar({ selfId, selfName, role, leader, peers, onHandOver }: Props) {
  const { t } = useTranslation();
  const [choice, setChoice] = useState("");
  const leading = leader !== null && leader === selfId;
  const leaderName = leading ? selfName : peers.find((p) => p.peer_id === leader)?.display_name;
  const candidates = peers.filter((p) => p.role !== "observer" && p.role !== "server" && p.media !== false && !p.away);
  const chosen = candidates.some((p) => p.peer_id === choice) ? choice : "";
  return (
    <div className="shared-leader-bar" data-testid="shared-leader-bar">
      <span
        className={leading ? "badge shared-leader-badge" : "badge"}
        data-testid="shared-leader"
        data-leader-id={leader ?? ""}
        data-self-leads={leading}
      >
        {leading
          ? t("sharedViewer.youLead")
          : leaderName
            ? t("sharedViewer.following", { name: leaderName })
            : t("sharedViewer.noLeader")}
      </span>
      {(leading || role === "host") && candidates.length ? (
        <span className="shared-hand-over">
          <label>
            {t("sharedViewer.handOverTo")}{" "}
            <select value={chosen} onChange={(event) => setChoice(event.target.value)} data-testid="shared-hand-over-to">
              <option value="" />
              {candidates
                .filter((p) => p.peer_id !== leader)
                .map((p) => (
                  <option key={p.peer_id} value={p.peer_id}>
                    {p.display_name}
                  </option>
                ))}
            </select>
          </label>{" "}
          <button
            type="button"
            className="btn btn-secondary btn-small"
            disabled={!chosen}
            onClick={() => onHandOver(chosen)}
            data-testid="shared-hand-over"
          >
            {t("sharedViewer.handOver")}
          </button>
        </span>
      ) : null}
    </div>
  );
}
