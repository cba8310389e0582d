import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { formatDateTime } from "../dates";
import { CASE_KINDS, NOTIFICATION_KINDS, isKnown, type Notification } from "../types";

/** Unread notifications (结果反馈, 退回补充, ...), each leading to its case, where it is marked read. */
export default function NotificationList({ items }: { items: Notification[] }) {
  const { t, i18n } = useTranslation();
  const unread = items.filter((n) => !n.read_at);
  if (unread.length === 0) return null;
  return (
    <section className="notifications" data-testid="notifications" aria-labelledby="notifications-title">
      <h2 className="section-title" id="notifications-title">
        {t("notifications.title")} <span className="count-badge" data-testid="notification-count">{unread.length}</span>
      </h2>
      <ul>
        {unread.map((n) => (
          <li key={n.id} className={`notification notification-${n.kind}`} data-testid="notification-item" data-kind={n.kind} data-case-id={n.case.id}>
            <span className={`notice notice-${n.kind}`}>{isKnown(NOTIFICATION_KINDS, n.kind) ? t(`notifications.kinds.${n.kind}`) : n.kind}</span>
            <Link to={`/cases/${n.case.id}`} data-testid="notification-open">
              {t("notifications.caseLine", {
                id: n.case.id,
                kind: isKnown(CASE_KINDS, n.case.kind) ? t(`kind.${n.case.kind}`) : n.case.kind,
              })}
            </Link>
            <time className="text-muted cell-time" dateTime={n.created_at}>
              {formatDateTime(n.created_at, i18n.language)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  );
}
