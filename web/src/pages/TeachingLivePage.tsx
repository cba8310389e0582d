// Watching a teaching session live (网络收看): the room's HLS broadcast, encoded once on the server for
// every watcher, with its stated delay; the shared viewer following the presenter; and the chat, where
// trainees ask their questions. Before the host starts broadcasting the page says so and asks again.

import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useUser } from "../auth";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import ChatPanel from "../consult/ChatPanel";
import "../consult/consult.css";
import { errorMessage } from "../errors";
import type { PageDef } from "../routes";
import SharedViewer from "../sharedViewer/SharedViewer";
import { CLINICAL_SOURCES, TEACHING_SOURCES, type Broadcast } from "../teaching/api";
import HlsVideo from "../teaching/HlsVideo";
import { useLiveTeaching } from "../teaching/useLiveTeaching";
import "../teaching/teaching.css";

/** The delay the server states for its HLS (segments behind live), in the UI's language when given as a number. */
function Latency({ broadcast }: { broadcast: Broadcast }) {
  const { t } = useTranslation();
  const seconds = broadcast.target_latency_seconds;
  return (
    <p className="text-muted" data-testid="teaching-live-latency">
      {t("teaching.live.latency")} {seconds !== undefined ? t("teaching.live.latencySeconds", { seconds }) : broadcast.latency_note}
    </p>
  );
}

export default function TeachingLivePage(_props: { page: PageDef }) {
  const { sessionId = "" } = useParams();
  const { t } = useTranslation();
  const user = useUser();
  const { state, retry, sendChat } = useLiveTeaching(sessionId);
  const { broadcast } = state;
  const title = state.room?.title || t("nav.teachingLive");
  const back = (
    <Link to="/teaching" className="btn btn-secondary" data-testid="teaching-back">
      {t("teaching.player.back")}
    </Link>
  );
  // Trainees never read identified studies: their viewer asks the teaching copies, others the originals.
  const sources = user.role === "trainee" ? TEACHING_SOURCES : CLINICAL_SOURCES;

  return (
    <div className="page" data-testid="teaching-live-page" data-phase={state.phase} data-broadcast={broadcast.status}>
      <PageHeader title={title} actions={back} />
      {state.phase === "ended" || state.phase === "closed" ? (
        <Panel tone="warning" title={t(`teaching.live.phase.${state.phase}`)} testId="teaching-live-status">
          {state.reason ? <p>{state.reason}</p> : null}
        </Panel>
      ) : null}
      {state.phase === "reconnecting" ? <Panel tone="warning" title={t("teaching.live.phase.reconnecting")} /> : null}
      <div className="teaching-player">
        <div className="teaching-main">
          {broadcast.status === "live" ? (
            <>
              <HlsVideo src={broadcast.broadcast.hls_url} onFatal={retry} testId="teaching-live-video" />
              <Latency broadcast={broadcast.broadcast} />
            </>
          ) : broadcast.status === "loading" ? (
            <p className="loading" role="status">
              {t("common.loading")}
            </p>
          ) : (
            <Panel
              tone={broadcast.status === "error" ? "error" : "info"}
              title={t(broadcast.status === "error" ? "teaching.live.error" : "teaching.live.notLive")}
              testId="teaching-live-not-live"
            >
              <p>{broadcast.status === "error" ? errorMessage(broadcast.error, t) : t("teaching.live.notLiveHint")}</p>
              <button type="button" className="btn btn-secondary" onClick={retry} data-testid="teaching-live-retry">
                {t("common.retry")}
              </button>
            </Panel>
          )}
          <section className="teaching-viewer" data-testid="teaching-viewer">
            <SharedViewer state={state.viewer} lead={false} sources={sources} />
          </section>
        </div>
        <aside className="teaching-side">
          <p className="text-muted">{t("teaching.live.askHint")}</p>
          <ChatPanel lines={state.chat} onSend={sendChat} />
        </aside>
      </div>
    </div>
  );
}
