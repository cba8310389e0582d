// The audit log for auditors (审计日志): who did what to which record, when, from where, newest first,
// filtered by action, user, outcome or resource, and paged back through older events.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { request } from "../api";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import type { AuditEvent, AuditEvents } from "../schema";
import PageHeader from "../components/PageHeader";


const FILTERS = ["action", "username", "outcome", "resource_type", "resource_id"] as const;
type Filter = (typeof FILTERS)[number];
type Query = Record<Filter, string> & { before_id: string };

const EMPTY: Query = { action: "", username: "", outcome: "", resource_type: "", resource_id: "", before_id: "" };

function auditEvents(query: Query, signal: AbortSignal): Promise<AuditEvent[]> {
  const params = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== ""));
  return request<AuditEvents>("GET", `/api/audit-events?${params}`, { signal }).then((r) => r.items);
}

export default function AuditPage({ page }: { page: PageDef }) {
  const { t, i18n } = useTranslation();
  const [draft, setDraft] = useState<Query>(EMPTY);
  const [query, setQuery] = useState<Query>(EMPTY);
  const [load] = useLoad((signal) => auditEvents(query, signal), [query]);
  const events = load.status === "ok" ? load.data : [];
  return (
    <div className="page" data-testid="audit-page">
      <PageHeader title={t(page.titleKey)} />
      <form
        className="filters"
        data-testid="audit-filters"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ ...draft, before_id: "" });
        }}
      >
        {FILTERS.map((name) => (
          <label className="filter" key={name}>
            <span className="field-label">{t(`audit.filter.${name}`)}</span>
            <input
              data-testid={`audit-filter-${name}`}
              value={draft[name]}
              onChange={(event) => setDraft({ ...draft, [name]: event.target.value.trim() })}
            />
          </label>
        ))}
        <button type="submit" className="btn btn-primary" data-testid="audit-apply">
          {t("audit.apply")}
        </button>
      </form>
      {load.status === "error" ? <p className="form-error">{errorMessage(load.error, t)}</p> : null}
      {load.status === "loading" ? <p className="muted">{t("audit.loading")}</p> : null}
      {load.status === "ok" && events.length === 0 ? <p className="muted">{t("audit.none")}</p> : null}
      {events.length > 0 ? (
        <table className="data-table" data-testid="audit-table">
          <thead>
            <tr>
              {(["at", "user", "action", "resource", "patient", "outcome", "ip"] as const).map((column) => (
                <th key={column}>{t(`audit.column.${column}`)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id} data-testid="audit-row" data-action={event.action} data-outcome={event.outcome}>
                <td>{formatDateTime(event.at, i18n.language)}</td>
                <td>
                  {event.username ?? "—"}
                  {event.role ? <span className="muted"> · {t(`role.${event.role}`, { defaultValue: event.role })}</span> : null}
                </td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>{event.resource_type ? `${event.resource_type} ${event.resource_id ?? ""}` : "—"}</td>
                <td>{event.patient_id ?? "—"}</td>
                <td className={event.outcome === "ok" ? "" : "form-error"}>{t(`audit.outcome.${event.outcome}`, { defaultValue: event.outcome })}</td>
                <td>{event.ip ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {events.length > 0 ? (
        <button
          type="button"
          className="btn btn-secondary"
          data-testid="audit-older"
          onClick={() => setQuery({ ...query, before_id: String(events[events.length - 1].id) })}
        >
          {t("audit.older")}
        </button>
      ) : null}
    </div>
  );
}
