// The recording's chapters (the host's, and those derived from what the viewer opened): clicking one
// seeks the video there, and the replayed viewer with it.

import { useTranslation } from "react-i18next";
import type { Chapter } from "./api";
import { formatClock } from "./replay";

export default function ChapterList({
  chapters,
  current,
  onSeek,
}: {
  chapters: Chapter[];
  current: number;
  onSeek: (ms: number) => void;
}) {
  const { t } = useTranslation();
  return (
    <section className="teaching-side-section" data-testid="teaching-chapters">
      <h2 className="section-title">{t("teaching.player.chapters")}</h2>
      {chapters.length === 0 ? <p className="text-muted">{t("teaching.player.noChapters")}</p> : null}
      <ol className="teaching-chapters">
        {chapters.map((chapter, index) => (
          <li key={`${chapter.t_ms}-${index}`} aria-current={index === current ? "true" : undefined}>
            <button
              type="button"
              className="teaching-chapter"
              onClick={() => onSeek(chapter.t_ms)}
              data-testid="teaching-chapter"
              data-t-ms={chapter.t_ms}
            >
              <span className="teaching-chapter-time">{formatClock(chapter.t_ms)}</span> {chapter.title}
              {chapter.source === "viewer" ? <span className="text-muted"> · {t("teaching.player.autoChapter")}</span> : null}
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
