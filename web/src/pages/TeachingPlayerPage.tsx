// The trainee player (网站点播): the session's recording with the shared viewer replayed beside it. The
// viewer shows the fold of the viewer events up to the video's position (the same session clock), so
// playing, seeking forwards and seeking back all show what the room saw at that moment; the chat too.

import { memo, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import SharedViewer from "../sharedViewer/SharedViewer";
import { foldViewerEvents, pointerAt } from "../sharedViewer/state";
import { getLibraryItem, LIBRARY_ITEM_STATES, libraryEvents, TEACHING_SOURCES, type LibraryItem } from "../teaching/api";
import { isKnown } from "../types";
import ChapterList from "../teaching/ChapterList";
import MaterialsList from "../teaching/MaterialsList";
import { chapterAt, countUpTo, formatClock, splitEvents } from "../teaching/replay";
import ReplayChat from "../teaching/ReplayChat";
import { useMediaClock } from "../teaching/useMediaClock";
import "../teaching/teaching.css";

/** Re-rendered only when the replayed state changes, not on every animation frame of the clock. */
const ReplayedViewer = memo(SharedViewer);

function Player({ item }: { item: LibraryItem }) {
  const { t } = useTranslation();
  const [video, setVideo] = useState<HTMLVideoElement | null>(null);
  const ms = useMediaClock(video);
  const { viewer, chat } = useMemo(() => splitEvents(libraryEvents(item.events)), [item.events]);
  const applied = countUpTo(viewer, ms);
  const [state, pointer] = useMemo(() => {
    const happened = viewer.slice(0, applied);
    return [foldViewerEvents(happened), pointerAt(happened)] as const;
  }, [viewer, applied]);
  const said = countUpTo(chat, ms);
  const lines = useMemo(() => chat.slice(0, said), [chat, said]);
  const seek = (to: number) => {
    if (video) video.currentTime = to / 1000;
  };

  return (
    <div className="teaching-player">
      <div className="teaching-main">
        <video
          ref={setVideo}
          className="teaching-video"
          src={item.media.video}
          poster={item.media.poster ?? undefined}
          controls
          playsInline
          preload="metadata"
          data-testid="teaching-video"
        />
        <p className="teaching-clock text-muted">
          <span data-testid="teaching-media-time" data-ms={ms}>
            {formatClock(ms)}
          </span>
          {item.duration_ms ? ` / ${formatClock(item.duration_ms)}` : null}
          {" · "}
          <span data-testid="teaching-replay-slice" data-slice={state.slice ?? ""}>
            {state.open ? t("teaching.player.slice", { index: (state.slice ?? 0) + 1 }) : t("teaching.player.nothingOpen")}
          </span>
        </p>
        <section className="teaching-viewer" data-testid="teaching-viewer">
          <ReplayedViewer state={state} lead={false} sources={TEACHING_SOURCES} pointer={pointer} />
        </section>
      </div>
      <aside className="teaching-side">
        <ChapterList chapters={item.chapters} current={chapterAt(item.chapters, ms)} onSeek={seek} />
        <MaterialsList materials={item.materials} />
        <ReplayChat lines={lines} />
      </aside>
    </div>
  );
}

export default function TeachingPlayerPage(_props: { page: PageDef }) {
  const { itemId = "" } = useParams();
  const { t } = useTranslation();
  const [load, refresh] = useLoad((signal) => getLibraryItem(itemId, signal), [itemId]);
  const back = (
    <Link to="/teaching" className="btn btn-secondary" data-testid="teaching-back">
      {t("teaching.player.back")}
    </Link>
  );

  if (load.status !== "ok") {
    return (
      <div className="page" data-testid="teaching-player-page">
        <PageHeader title={t("nav.teachingPlayer")} actions={back} />
        {load.status === "loading" ? (
          <p className="loading" role="status">
            {t("common.loading")}
          </p>
        ) : (
          <Panel tone="error" title={t("teaching.player.loadError")} testId="teaching-player-error">
            <p>{errorMessage(load.error, t)}</p>
            <button type="button" className="btn btn-secondary" onClick={refresh}>
              {t("common.retry")}
            </button>
          </Panel>
        )}
      </div>
    );
  }

  const item = load.data;
  return (
    <div className="page" data-testid="teaching-player-page" data-state={item.state}>
      <PageHeader title={item.title} actions={back} />
      <p className="text-muted">
        <span className="badge">{item.specialty}</span> {item.description}
      </p>
      {item.state === "ready" ? (
        <Player item={item} />
      ) : (
        <Panel tone={item.state === "failed" ? "error" : "info"} title={isKnown(LIBRARY_ITEM_STATES, item.state) ? t(`teaching.state.${item.state}`) : item.state} testId="teaching-not-ready">
          <p>{t(`teaching.player.${item.state === "failed" ? "failedHint" : "preparingHint"}`)}</p>
          {item.error ? <p className="text-muted">{item.error}</p> : null}
        </Panel>
      )}
    </div>
  );
}
