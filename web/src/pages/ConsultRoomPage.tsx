// A case's live consult (远程会诊) or a teaching session's room (教学查房): video tiles of everyone in the
// room, the shared viewer (the leader picks and drives, the others follow; the lead can be handed over),
// chat, media profile, recording consent (asked at once of a late joiner while recording), and for hosts
// the waiting list and moderation. A participant first waits to be admitted; trainees only observe.

import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useUser } from "../auth";
import ChatPanel from "../consult/ChatPanel";
import ConsentDialog from "../consult/ConsentDialog";
import HostControls from "../consult/HostControls";
import SharedViewerPanel from "../consult/SharedViewerPanel";
import { MEDIA_PROFILES, type MediaProfile } from "../consult/protocol";
import { useConsultRoom } from "../consult/useConsultRoom";
import VideoTile from "../consult/VideoTile";
import "../consult/consult.css";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import type { PageDef } from "../routes";

export default function ConsultRoomPage(_props: { page: PageDef }) {
  const { caseId = "", sessionId = "" } = useParams();
  const teaching = sessionId !== "";
  const { t } = useTranslation();
  const user = useUser();
  const observer = user.role === "trainee";
  const room = useConsultRoom(teaching ? `teaching-${sessionId}` : `case-${caseId}`, observer);
  const { state, send, setProfile, toggleAudio, setConsent, sendViewer, handOver } = room;
  const [consentAsked, setConsentAsked] = useState(false);
  const back = (
    <Link to={teaching ? "/teaching" : `/cases/${caseId}`} className="btn btn-secondary" data-testid="consult-back">
      {teaching ? t("consultRoom.backToTeaching") : t("consultRoom.back")}
    </Link>
  );
  const title = teaching ? t("consultRoom.teachingTitle", { id: sessionId }) : t("consultRoom.title", { id: caseId });
  const header = <PageHeader title={title} actions={back} />;

  if (state.phase !== "in_room" && state.phase !== "reconnecting") {
    const tone = state.phase === "waiting" || state.phase === "connecting" ? "info" : "warning";
    return (
      <div className="page consult-page" data-testid="consult-page" data-phase={state.phase}>
        {header}
        <Panel tone={tone} title={t(`consultRoom.phase.${state.phase}`)} testId="consult-status">
          {state.reason || state.error ? <p>{state.reason ?? state.error}</p> : null}
        </Panel>
      </div>
    );
  }

  const isHost = state.role === "host";
  const isObserver = state.role === "observer";
  const remote = state.peers.filter((p) => p.role !== "server" && p.media !== false);
  const askConsent = Boolean(state.room?.recording) && !state.consent && !isObserver && !consentAsked;
  return (
    <div className="page consult-page" data-testid="consult-page" data-phase={state.phase}>
      {header}
      {askConsent ? (
        <ConsentDialog
          onConsent={() => {
            setConsent(true);
            setConsentAsked(true);
          }}
          onClose={() => setConsentAsked(true)}
        />
      ) : null}
      {state.room?.recording ? (
        <p className="consult-recording" role="status" data-testid="consult-recording">
          {t("consultRoom.recordingOn")}
        </p>
      ) : null}
      {state.phase === "reconnecting" ? <Panel tone="warning" title={t("consultRoom.phase.reconnecting")} /> : null}
      {state.error ? <p className="text-muted" data-testid="consult-error">{state.error}</p> : null}
      {isObserver ? (
        <p className="text-muted" data-testid="consult-observer-note">
          {t("consultRoom.observerNote")}
        </p>
      ) : (
        <div className="consult-toolbar">
          <button type="button" className="btn btn-secondary" onClick={toggleAudio} data-testid="consult-mic">
            {state.audio ? t("consultRoom.muteSelf") : t("consultRoom.unmuteSelf")}
          </button>
          <label>
            {t("consultRoom.profile.label")}{" "}
            <select
              value={state.profile}
              onChange={(event) => void setProfile(event.target.value as MediaProfile)}
              data-testid="consult-profile"
            >
              {MEDIA_PROFILES.map((profile) => (
                <option key={profile} value={profile}>
                  {t(`consultRoom.profile.${profile}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={state.consent}
              onChange={(event) => setConsent(event.target.checked)}
              data-testid="consult-consent"
            />{" "}
            {t("consultRoom.consent")}
          </label>
          {state.quality ? (
            <span className={`net-quality net-${state.quality}`} data-testid="consult-own-quality">
              {t("consultRoom.ownQuality", { level: t(`consultRoom.quality.${state.quality}`), rtt: state.network?.rtt_ms ?? 0 })}
            </span>
          ) : null}
        </div>
      )}
      <div className="consult-layout">
        <div className="consult-main">
          <SharedViewerPanel
            caseId={teaching ? null : caseId}
            selfId={state.selfId}
            selfName={user.display_name}
            role={state.role}
            leader={state.room?.leader ?? null}
            peers={remote}
            viewer={state.viewer}
            pointer={state.pointer}
            onViewer={sendViewer}
            onHandOver={handOver}
          />
          <div className="video-grid">
            {isObserver ? null : (
              <VideoTile
                peerId={state.selfId ?? "self"}
                name={user.display_name}
                role={state.role}
                stream={state.local}
                self
                audio={state.audio}
                video={state.video}
                quality={state.quality}
              />
            )}
            {remote.map((peer) => (
              <VideoTile
                key={peer.peer_id}
                peerId={peer.peer_id}
                name={peer.display_name}
                role={peer.role}
                stream={state.streams[peer.peer_id] ?? null}
                audio={peer.audio}
                video={peer.video && peer.profile !== "audio_only"}
                away={peer.away}
                quality={peer.quality}
              />
            ))}
            {remote.length === 0 ? <p className="text-muted">{t("consultRoom.alone")}</p> : null}
          </div>
        </div>
        <aside>
          <ChatPanel lines={state.chat} onSend={(text) => send({ type: "chat", text })} />
          {isHost ? (
            <HostControls waiting={state.waiting} peers={state.peers} recording={state.room?.recording ?? false} send={send} />
          ) : null}
        </aside>
      </div>
    </div>
  );
}
