// One recording in the teaching library: poster, title, who taught it where and when, length, chapters.
// Only `ready` items open in the player; hosts and admins also see the ones still being prepared.

import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { formatDateTime } from "../dates";
import { isKnown } from "../types";
import { LIBRARY_ITEM_STATES, type LibraryItemSummary } from "./api";
import { formatClock } from "./replay";

export default function LibraryCard({ item }: { item: LibraryItemSummary }) {
  const { t, i18n } = useTranslation();
  const ready = item.state === "ready";
  const title = ready ? (
    <Link to={`/teaching/library/${item.id}`} data-testid="teaching-item-link">
      {item.title}
    </Link>
  ) : (
    item.title
  );
  return (
    <li className="teaching-card" data-testid="teaching-item" data-state={item.state}>
      <div className="teaching-poster">
        {item.poster_url ? <img src={item.poster_url} alt="" loading="lazy" /> : null}
        {item.duration_ms ? <span className="teaching-duration">{formatClock(item.duration_ms)}</span> : null}
      </div>
      <div className="teaching-card-body">
        <h2 className="teaching-card-title" data-testid="teaching-item-title">
          {title}
        </h2>
        {!ready ? <span className={`badge teaching-state-${item.state}`}>{isKnown(LIBRARY_ITEM_STATES, item.state) ? t(`teaching.state.${item.state}`) : item.state}</span> : null}
        <p className="teaching-card-meta">
          <span className="badge">{item.specialty}</span> {item.host_name} · {item.institution}
        </p>
        <p className="text-muted teaching-card-meta">
          {formatDateTime(item.held_at, i18n.language)} · {t("teaching.chapterCount", { count: item.chapters })}
        </p>
      </div>
    </li>
  );
}
