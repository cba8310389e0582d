// What is on now and soon (教学安排): each session links to its live broadcast (网络收看), and for those
// who take part (not trainees, who watch) to its room.

import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useUser } from "../auth";
import Panel from "../components/Panel";
import { formatDateTime } from "../dates";
import { useLoad } from "../hooks/useLoad";
import { teachingSchedule } from "./api";

export default function SchedulePanel() {
  const { t, i18n } = useTranslation();
  const user = useUser();
  const [load] = useLoad((signal) => teachingSchedule(signal), []);
  if (load.status !== "ok" || load.data.length === 0) return null;
  return (
    <Panel title={t("teaching.schedule.title")} testId="teaching-schedule">
      <ul className="teaching-schedule">
        {load.data.map((session) => (
          <li key={session.id} data-testid="teaching-scheduled" data-session-id={session.id}>
            <span className="study-desc">{session.title}</span>{" "}
            <span className="text-muted">
              {[formatDateTime(session.scheduled_at, i18n.language), session.host.display_name, session.institution]
                .filter(Boolean)
                .join(" · ")}
            </span>{" "}
            <Link className="btn btn-secondary btn-small" to={`/teaching/sessions/${session.id}/live`} data-testid="teaching-watch-live">
              {t("teaching.schedule.watch")}
            </Link>
            {user.role !== "trainee" ? (
              <Link className="btn btn-ghost btn-small" to={`/teaching/sessions/${session.id}/room`} data-testid="teaching-enter-room">
                {t("teaching.schedule.enter")}
              </Link>
            ) : null}
          </li>
        ))}
      </ul>
    </Panel>
  );
}
