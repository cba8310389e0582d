import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useUser } from "../auth";
import { VIEWER_ROLES } from "../viewer/roles";
import { CASE_KINDS, CASE_STATUSES, NOTIFICATION_KINDS, SEXES, isKnown, type Case } from "../types";

function useDateFormat() {
  const { i18n } = useTranslation();
  const format = new Intl.DateTimeFormat(i18n.language, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
  return (iso: string) => {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : format.format(date);
  };
}

/** `notices`: the kinds of unread notifications per case id, shown as badges beside the status. */
export default function CaseTable({ cases, notices }: { cases: Case[]; notices?: Map<number, string[]> }) {
  const { t } = useTranslation();
  const formatDate = useDateFormat();
  const user = useUser();
  const canView = VIEWER_ROLES.includes(user.role);

  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="case-table">
        <thead>
          <tr>
            <th scope="col">{t("cases.columns.id")}</th>
            <th scope="col">{t("cases.columns.patient")}</th>
            <th scope="col">{t("cases.columns.nationalId")}</th>
            <th scope="col">{t("cases.columns.kind")}</th>
            <th scope="col">{t("cases.columns.urgency")}</th>
            <th scope="col">{t("cases.columns.status")}</th>
            <th scope="col">{t("cases.columns.institution")}</th>
            <th scope="col">{t("cases.columns.createdAt")}</th>
            {canView ? <th scope="col">{t("cases.columns.images")}</th> : null}
          </tr>
        </thead>
        <tbody>
          {cases.map((c) => (
            <tr key={c.id} data-testid="case-row" data-case-id={c.id} className={c.urgency === "urgent" ? "row-urgent" : undefined}>
              <td className="cell-id">{c.id}</td>
              <td className="cell-patient">
                <Link to={`/cases/${c.id}`} className="patient-name" data-testid="case-open">
                  {c.patient.name}
                </Link>
                {c.patient.sex ? <span className="patient-sex">{isKnown(SEXES, c.patient.sex) ? t(`sex.${c.patient.sex}`) : c.patient.sex}</span> : null}
              </td>
              <td className="cell-mono">{c.patient.national_id_masked}</td>
              <td>{isKnown(CASE_KINDS, c.kind) ? t(`kind.${c.kind}`) : c.kind}</td>
              <td>
                {c.urgency === "urgent" ? (
                  <span className="badge badge-urgent" data-testid="urgent-badge" title={t("urgency.urgentTitle")}>
                    {t("urgency.urgent")}
                  </span>
                ) : (
                  <span className="text-muted">{t("urgency.routine")}</span>
                )}
              </td>
              <td>
                <span className={`status status-${c.status}`} data-status={c.status}>
                  {isKnown(CASE_STATUSES, c.status) ? t(`status.${c.status}`) : c.status}
                </span>
                {(notices?.get(c.id) ?? []).map((kind) => (
                  <span key={kind} className={`notice notice-${kind}`} data-testid="case-notice" data-kind={kind}>
                    {isKnown(NOTIFICATION_KINDS, kind) ? t(`notifications.kinds.${kind}`) : kind}
                  </span>
                ))}
              </td>
              <td>{c.institution?.name ?? t("common.none")}</td>
              <td className="cell-time">
                <time dateTime={c.created_at}>{formatDate(c.created_at)}</time>
              </td>
              {canView ? (
                <td>
                  {/* The list does not say whether a case has studies: the link is always offered. */}
                  <Link to={`/cases/${c.id}/images`} className="images-link" data-testid="case-images-link">
                    {t("cases.viewImages")}
                  </Link>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
