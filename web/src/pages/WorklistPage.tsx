// The reading side's worklist (readers and dispatchers; experts' consults): cases filtered and sorted
// by the server, a claim button for readers and an assign dialog for dispatchers. The list follows the
// worklist stream: every step of a visible case reloads the rows in place, without a page reload.

import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { caseAction, fetchWorklist } from "../api";
import { useUser } from "../auth";
import { formatDateTime, formatDuration } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { useWorklistStream, type StreamState } from "../hooks/useWorklistStream";
import type { PageDef, PageKey } from "../routes";
import {
  CASE_KINDS,
  CASE_STATUSES,
  SEXES,
  WORKLIST_SORTS,
  isKnown,
  type WorklistItem,
  type WorklistQuery,
  type WorklistSort,
} from "../types";
import ColleaguePicker from "../components/ColleaguePicker";
import Dialog from "../components/Dialog";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";

/** Events arriving close together reload the list once. */
const RELOAD_DEBOUNCE_MS = 250;
/** How long a changed row stays highlighted. */
const FLASH_MS = 4000;

function LiveIndicator({ state }: { state: StreamState }) {
  const { t } = useTranslation();
  return (
    <span className={`live live-${state}`} data-testid="live-indicator" data-state={state} role="status" title={t(`worklist.liveHelp.${state}`)}>
      <span className="live-dot" aria-hidden="true" />
      {t(`worklist.live.${state}`)}
    </span>
  );
}

interface Filters extends WorklistQuery {
  sort: WorklistSort;
  status: string;
  kind: string;
  urgency: string;
  institution: string;
  overdue: boolean;
  mine: boolean;
}

function Toolbar({ filters, onChange, institutions }: { filters: Filters; onChange: (f: Filters) => void; institutions: Map<number, string> }) {
  const { t } = useTranslation();
  const set = (change: Partial<Filters>) => onChange({ ...filters, ...change });
  return (
    <div className="filters" data-testid="worklist-filters">
      <label className="filter">
        <span className="field-label">{t("worklist.sort")}</span>
        <select value={filters.sort} onChange={(e) => set({ sort: e.target.value as WorklistSort })} data-testid="filter-sort">
          {WORKLIST_SORTS.map((s) => (
            <option key={s} value={s}>
              {t(`worklist.sorts.${s}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span className="field-label">{t("cases.columns.urgency")}</span>
        <select value={filters.urgency} onChange={(e) => set({ urgency: e.target.value })} data-testid="filter-urgency">
          <option value="">{t("worklist.all")}</option>
          <option value="urgent">{t("urgency.urgent")}</option>
          <option value="routine">{t("urgency.routine")}</option>
        </select>
      </label>
      <label className="filter">
        <span className="field-label">{t("cases.columns.kind")}</span>
        <select value={filters.kind} onChange={(e) => set({ kind: e.target.value })} data-testid="filter-kind">
          <option value="">{t("worklist.all")}</option>
          {CASE_KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`kind.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span className="field-label">{t("cases.columns.institution")}</span>
        <select value={filters.institution} onChange={(e) => set({ institution: e.target.value })} data-testid="filter-institution">
          <option value="">{t("worklist.all")}</option>
          {[...institutions].map(([id, name]) => (
            <option key={id} value={String(id)}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span className="field-label">{t("cases.columns.status")}</span>
        <select value={filters.status} onChange={(e) => set({ status: e.target.value })} data-testid="filter-status">
          <option value="">{t("worklist.openCases")}</option>
          {CASE_STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(`status.${s}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="filter filter-check">
        <input type="checkbox" checked={filters.overdue} onChange={(e) => set({ overdue: e.target.checked })} data-testid="filter-overdue" />
        {t("worklist.overdueOnly")}
      </label>
      <label className="filter filter-check">
        <input type="checkbox" checked={filters.mine} onChange={(e) => set({ mine: e.target.checked })} data-testid="filter-mine" />
        {t("worklist.mineOnly")}
      </label>
    </div>
  );
}

function AssignDialog({ item, onDone, onClose }: { item: WorklistItem; onDone: () => void; onClose: () => void }) {
  const { t } = useTranslation();
  const user = useUser();
  const [assignee, setAssignee] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function assign() {
    setBusy(true);
    setError(null);
    try {
      await caseAction(item.id, "assign", { assignee: Number(assignee), ...(note.trim() ? { note: note.trim() } : {}) });
      onDone();
    } catch (err) {
      setError(errorMessage(err, t));
      setBusy(false);
    }
  }
  return (
    <Dialog
      title={t("worklist.assignTitle", { id: item.id, patient: item.patient.name })}
      confirmLabel={t("caseAction.assign")}
      onConfirm={() => void assign()}
      onClose={onClose}
      busy={busy}
      error={error}
      testId="assign-dialog"
    >
      <ColleaguePicker
        label={t("colleague.reader")}
        role="reader"
        centreId={user.centre?.id ?? item.centre?.id}
        value={assignee}
        onChange={setAssignee}
        testId="assign-person"
      />
      <label className="field">
        <span className="field-label">{t("actionDialog.noteOptional")}</span>
        <textarea rows={2} maxLength={4000} value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
    </Dialog>
  );
}

const DEFAULT_FILTERS: Filters = {
  sort: "urgency",
  status: "",
  kind: "",
  urgency: "",
  institution: "",
  overdue: false,
  mine: false,
};

/** The pages that are this worklist with a starting filter: an expert's consults and a reader's own
 * signed reports are theirs; a dispatcher starts from the cases still waiting in the queue. */
const PRESETS: Partial<Record<PageKey, Partial<Filters>>> = {
  consults: { mine: true },
  reports: { mine: true, status: "reported" },
  dispatch: { status: "queued" },
};

export default function WorklistPage({ page }: { page: PageDef }) {
  const { t, i18n } = useTranslation();
  const user = useUser();
  const navigate = useNavigate();
  const [filters, setFilters] = useState<Filters>({ ...DEFAULT_FILTERS, ...PRESETS[page.key] });
  // Empty filters are left out of the query string by fetchWorklist.
  const [load, refresh] = useLoad((signal) => fetchWorklist(filters, signal), [filters]);
  const [flashed, setFlashed] = useState<Set<number>>(new Set());
  const [claiming, setClaiming] = useState<number | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [assigning, setAssigning] = useState<WorklistItem | null>(null);
  const [updatedAt, setUpdatedAt] = useState<string | null>(null);

  // Institutions seen so far, so the filter keeps its options.
  const seen = useRef({ institutions: new Map<number, string>() });
  if (load.status === "ok") {
    for (const item of load.data) {
      seen.current.institutions.set(item.institution.id, item.institution.name);
    }
  }

  useEffect(() => {
    if (load.status === "ok") setUpdatedAt(new Date().toISOString());
  }, [load]);

  const reloadTimer = useRef<number | undefined>(undefined);
  const flashTimers = useRef(new Map<number, number>());
  useEffect(
    () => () => {
      window.clearTimeout(reloadTimer.current);
      flashTimers.current.forEach((timer) => window.clearTimeout(timer));
    },
    [],
  );
  const onEvent = useCallback(
    (event: { case_id: number }) => {
      window.clearTimeout(reloadTimer.current);
      reloadTimer.current = window.setTimeout(refresh, RELOAD_DEBOUNCE_MS);
      setFlashed((current) => new Set(current).add(event.case_id));
      window.clearTimeout(flashTimers.current.get(event.case_id));
      flashTimers.current.set(
        event.case_id,
        window.setTimeout(() => {
          flashTimers.current.delete(event.case_id);
          setFlashed((current) => {
            const next = new Set(current);
            next.delete(event.case_id);
            return next;
          });
        }, FLASH_MS),
      );
    },
    [refresh],
  );
  const live = useWorklistStream(onEvent, refresh);

  async function claim(item: WorklistItem) {
    setClaiming(item.id);
    setActionError(null);
    try {
      await caseAction(item.id, "claim");
      navigate(`/cases/${item.id}`);
    } catch (err) {
      setActionError(t("worklist.claimError", { id: item.id, message: errorMessage(err, t) }));
      refresh();
    } finally {
      setClaiming(null);
    }
  }

  return (
    <div className="page">
      <PageHeader
        title={t(page.titleKey)}
        actions={
          <>
            <LiveIndicator state={live} />
            {updatedAt ? (
              <span className="text-muted" data-testid="worklist-updated">
                {t("worklist.updatedAt", { time: new Date(updatedAt).toLocaleTimeString(i18n.language) })}
              </span>
            ) : null}
            <button type="button" className="btn btn-secondary" onClick={refresh}>
              {t("cases.refresh")}
            </button>
          </>
        }
      />
      <Toolbar filters={filters} onChange={setFilters} institutions={seen.current.institutions} />
      {actionError ? (
        <p className="form-error" role="alert" data-testid="worklist-error">
          {actionError}
        </p>
      ) : null}
      {load.status === "ok" && load.refreshError ? (
        <p className="form-error" role="alert">
          {t("worklist.refreshError", { message: errorMessage(load.refreshError, t) })}
        </p>
      ) : null}
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <Panel tone="error" title={t("worklist.loadError", { message: errorMessage(load.error, t) })} testId="worklist-load-error">
          <button type="button" className="btn btn-secondary" onClick={refresh}>
            {t("common.retry")}
          </button>
        </Panel>
      ) : load.data.length === 0 ? (
        <Panel title={t("worklist.empty")} testId="worklist-empty">
          <p>{t("worklist.emptyHint")}</p>
        </Panel>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="worklist-table">
            <thead>
              <tr>
                <th scope="col">{t("cases.columns.id")}</th>
                <th scope="col">{t("cases.columns.urgency")}</th>
                <th scope="col">{t("cases.columns.patient")}</th>
                <th scope="col">{t("cases.columns.kind")}</th>
                <th scope="col">{t("cases.columns.institution")}</th>
                <th scope="col">{t("cases.columns.status")}</th>
                <th scope="col">{t("worklist.waiting")}</th>
                <th scope="col">{t("worklist.target")}</th>
                <th scope="col">{t("casePage.assignee")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("worklist.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {load.data.map((item) => (
                <tr
                  key={item.id}
                  data-testid="worklist-row"
                  data-case-id={item.id}
                  data-status={item.status}
                  data-flash={flashed.has(item.id) ? "true" : undefined}
                  className={[item.urgency === "urgent" ? "row-urgent" : "", flashed.has(item.id) ? "row-flash" : ""].join(" ").trim() || undefined}
                >
                  <td className="cell-id">
                    <Link to={`/cases/${item.id}`} data-testid="case-open">
                      {item.id}
                    </Link>
                  </td>
                  <td>
                    {item.urgency === "urgent" ? (
                      <span className="badge badge-urgent" data-testid="urgent-badge">
                        {t("urgency.urgent")}
                      </span>
                    ) : (
                      <span className="text-muted">{t("urgency.routine")}</span>
                    )}
                  </td>
                  <td className="cell-patient">
                    <span className="patient-name">{item.patient.name}</span>
                    {item.patient.sex ? <span className="patient-sex">{isKnown(SEXES, item.patient.sex) ? t(`sex.${item.patient.sex}`) : item.patient.sex}</span> : null}
                  </td>
                  <td>{isKnown(CASE_KINDS, item.kind) ? t(`kind.${item.kind}`) : item.kind}</td>
                  <td>{item.institution.name}</td>
                  <td>
                    <span className={`status status-${item.status}`} data-status={item.status}>
                      {isKnown(CASE_STATUSES, item.status) ? t(`status.${item.status}`) : item.status}
                    </span>
                  </td>
                  <td className="cell-time">{item.waiting_seconds === null ? t("common.none") : formatDuration(item.waiting_seconds, t)}</td>
                  <td className="cell-time">
                    {formatDateTime(item.target_at, i18n.language) || t("common.none")}
                    {item.overdue ? (
                      <span className="badge badge-overdue" data-testid="overdue-badge">
                        {t("casePage.overdue")}
                      </span>
                    ) : null}
                  </td>
                  <td>{item.assigned_to?.display_name ?? t("common.none")}</td>
                  <td className="cell-actions">
                    {user.role === "reader" && item.status === "queued" ? (
                      <button
                        type="button"
                        className="btn btn-primary btn-small"
                        data-testid="claim"
                        disabled={claiming !== null}
                        onClick={() => void claim(item)}
                      >
                        {claiming === item.id ? t("common.working") : t("caseAction.claim")}
                      </button>
                    ) : null}
                    {user.role === "dispatcher" && (item.status === "queued" || item.status === "assigned") ? (
                      <button type="button" className="btn btn-secondary btn-small" data-testid="assign" onClick={() => setAssigning(item)}>
                        {t("caseAction.assign")}
                      </button>
                    ) : null}
                    <Link to={`/cases/${item.id}`} className="btn btn-ghost btn-small">
                      {t("worklist.openCase")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {assigning ? (
        <AssignDialog
          item={assigning}
          onClose={() => setAssigning(null)}
          onDone={() => {
            setAssigning(null);
            refresh();
          }}
        />
      ) : null}
    </div>
  );
}
