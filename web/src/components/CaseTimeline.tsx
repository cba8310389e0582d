import { useTranslation } from "react-i18next";
import { formatDateTime } from "../dates";
import { CASE_EVENT_ACTIONS, CASE_STATUSES, isKnown, type CaseEvent } from "../types";

/** Every step of a case, oldest first: who, when, from which state to which, and the note. */
export default function CaseTimeline({ events }: { events: CaseEvent[] }) {
  const { t, i18n } = useTranslation();
  const status = (value: string) => (isKnown(CASE_STATUSES, value) ? t(`status.${value}`) : value);
  if (events.length === 0) return <p className="text-muted">{t("casePage.noEvents")}</p>;
  return (
    <ol className="timeline" data-testid="case-timeline">
      {events.map((event) => (
        <li key={event.id} className={`timeline-item timeline-${event.action}`} data-testid="timeline-item" data-action={event.action}>
          <div className="timeline-head">
            <span className="timeline-action">{isKnown(CASE_EVENT_ACTIONS, event.action) ? t(`caseAction.${event.action}`) : event.action}</span>
            <time className="timeline-time" dateTime={event.at}>
              {formatDateTime(event.at, i18n.language)}
            </time>
          </div>
          <div className="timeline-meta">
            <span>{event.actor ? `${event.actor.display_name} · ${t(`role.${event.actor.role}`)}` : t("casePage.platform")}</span>
            {event.from_status !== event.to_status ? (
              <span className="timeline-states">
                {status(event.from_status)} → {status(event.to_status)}
              </span>
            ) : null}
          </div>
          {event.note ? <p className="timeline-note">{event.note}</p> : null}
        </li>
      ))}
    </ol>
  );
}
