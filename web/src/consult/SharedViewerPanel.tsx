// The room's shared viewer panel: who leads (and the hand-over), the leader's picker of a case's
// material (a teaching room names the case first), and the viewer itself following the room's state.
// Observers (trainees) never read identified material: their viewer asks the teaching copies.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { PointerPosition } from "../sharedViewer/PointerLayer";
import SharedViewer from "../sharedViewer/SharedViewer";
import type { ViewerEvent, ViewerState } from "../sharedViewer/state";
import { CLINICAL_SOURCES, TEACHING_SOURCES } from "../teaching/api";
import LeaderBar from "./LeaderBar";
import MaterialPicker from "./MaterialPicker";
import type { PeerInfo, RoomRole } from "./protocol";

interface Props {
  /** The case room's case; null in a teaching room (the leader names one). */
  caseId: string | null;
  selfId: string | null;
  selfName: string;
  role: RoomRole | null;
  leader: string | null;
  peers: PeerInfo[];
  viewer: ViewerState;
  pointer: PointerPosition | null;
  onViewer: (event: ViewerEvent) => void;
  onHandOver: (peerId: string) => void;
}

export default function SharedViewerPanel({ caseId, selfId, selfName, role, leader, peers, viewer, pointer, onViewer, onHandOver }: Props) {
  const { t } = useTranslation();
  const [namedCase, setNamedCase] = useState("");
  const lead = selfId !== null && leader === selfId;
  const pickCase = caseId ?? namedCase;
  return (
    <section className="consult-shared" aria-label={t("sharedViewer.title")}>
      <div className="consult-shared-bar">
        <LeaderBar selfId={selfId} selfName={selfName} role={role} leader={leader} peers={peers} onHandOver={onHandOver} />
        {lead && caseId === null ? (
          <label>
            {t("nav.case")}{" "}
            <input
              className="consult-case-input"
              inputMode="numeric"
              value={namedCase}
              onChange={(event) => setNamedCase(event.target.value.replace(/\D/g, ""))}
              data-testid="shared-case"
            />
          </label>
        ) : null}
        {lead && pickCase ? (
          <MaterialPicker caseId={pickCase} open={viewer.open} onOpen={(target) => onViewer({ kind: "open", target })} />
        ) : null}
      </div>
      <SharedViewer
        state={viewer}
        lead={lead}
        onEvent={role === "observer" ? undefined : onViewer}
        sources={role === "observer" ? TEACHING_SOURCES : CLINICAL_SOURCES}
        pointer={pointer}
      />
    </section>
  );
}
