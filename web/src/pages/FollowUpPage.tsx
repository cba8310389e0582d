// The village doctor's follow-up list (随访): patients referred back down, by next due date, each in the
// colour of the three-colour triage (三色分级管理) — green managed at the village, yellow at the county GP +
// specialist clinic, red with specialist-alliance guidance. A colour change says why, and is kept.

import { useState } from "react";
import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { changeColour, getFollowUp, listFollowUp, TRIAGE_COLOURS, type FollowUpEntry, type TriageColour } from "../apis/referrals";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import Dialog from "../components/Dialog";
import PageHeader from "../components/PageHeader";
import TriageBadge from "../components/referrals/TriageBadge";

function ColourDialog({ entry, onDone, onClose }: { entry: FollowUpEntry; onDone: () => void; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const [colour, setColour] = useState<TriageColour>(entry.colour.code);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [history] = useLoad((signal) => getFollowUp(entry.id, signal), [entry.id]);

  async function save() {
    if (colour === entry.colour.code) return setError(t("followUp.sameColour"));
    if (!reason.trim()) return setError(t("followUp.reasonRequired"));
    setBusy(true);
    setError(null);
    try {
      await changeColour(entry.id, colour, reason.trim());
      onDone();
    } catch (err) {
      setError(errorMessage(err, t));
      setBusy(false);
    }
  }

  return (
    <Dialog
      title={t("followUp.changeTitle", { patient: entry.patient.name })}
      confirmLabel={t("followUp.change")}
      onConfirm={() => void save()}
      onClose={onClose}
      busy={busy}
      error={error}
      testId="colour-dialog"
    >
      <fieldset className="field">
        <legend className="field-label">{t("followUp.newColour")}</legend>
        {TRIAGE_COLOURS.map((c) => (
          <label key={c} className="colour-option">
            <input type="radio" checked={colour === c} onChange={() => setColour(c)} data-testid={`colour-${c}`} />
            <TriageBadge colour={c} /> <span className="text-muted">{t(`followUp.meaning.${c}`)}</span>
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span className="field-label">
          {t("followUp.reason")}
          <span className="required-mark"> *</span>
        </span>
        <textarea rows={3} maxLength={4000} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="colour-reason" />
      </label>
      {history.status === "ok" && history.data.colour_history?.length ? (
        <ol className="timeline" data-testid="colour-history">
          {history.data.colour_history.map((change, i) => (
            <li key={i} className="timeline-item" data-testid="colour-change" data-to={change.to}>
              <div className="timeline-head">
                <span className="timeline-action">
                  {change.from ? <TriageBadge colour={change.from} /> : null} → <TriageBadge colour={change.to} />
                </span>
                <span className="timeline-meta">
                  {change.by?.display_name ?? t("common.none")} · {formatDateTime(change.at, i18n.language)}
                </span>
              </div>
              <p className="timeline-note">{change.reason}</p>
            </li>
          ))}
        </ol>
      ) : null}
    </Dialog>
  );
}

export default function FollowUpPage({ page }: { page: PageDef }) {
  const { t, i18n } = useTranslation();
  const [filter, setFilter] = useState<TriageColour | "">("");
  const [load, refresh] = useLoad((signal) => listFollowUp(filter, signal), [filter]);
  const [changing, setChanging] = useState<FollowUpEntry | null>(null);
  const today = new Date().toISOString().slice(0, 10);

  return (
    <div className="page" data-testid="follow-up-page">
      <PageHeader title={t(page.titleKey)} />
      {load.status === "ok" ? (
        <ul className="triage-legend" data-testid="triage-legend">
          {load.data.colours.map((c) => (
            <li key={c.code} data-testid="triage-meaning" data-colour={c.code}>
              <TriageBadge colour={c.code} /> {i18n.language.startsWith("zh") ? c.meaning_zh : c.meaning_en}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="filters">
        <label className="filter">
          <span className="field-label">{t("followUp.filter")}</span>
          <select value={filter} onChange={(e) => setFilter(e.target.value as TriageColour | "")} data-testid="follow-up-filter">
            <option value="">{t("followUp.all")}</option>
            {TRIAGE_COLOURS.map((c) => (
              <option key={c} value={c}>
                {t(`followUp.colours.${c}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {errorMessage(load.error, t)}
        </p>
      ) : load.data.items.length === 0 ? (
        <p className="text-muted" data-testid="follow-up-empty">
          {t("followUp.empty")}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="follow-up-table">
            <thead>
              <tr>
                <th scope="col">{t("followUp.colour")}</th>
                <th scope="col">{t("referral.patient")}</th>
                <th scope="col">{t("referral.letter.diagnosis")}</th>
                <th scope="col">{t("referral.down.plan")}</th>
                <th scope="col">{t("followUp.nextDue")}</th>
                <th scope="col">{t("followUp.from")}</th>
                <th scope="col">{t("referral.steps")}</th>
              </tr>
            </thead>
            <tbody>
              {load.data.items.map((entry) => (
                <tr key={entry.id} data-testid="follow-up-row" data-entry-id={entry.id} data-referral-id={entry.referral.id} data-colour={entry.colour.code}>
                  <td>
                    <TriageBadge colour={entry.colour.code} />
                  </td>
                  <td className="cell-patient">
                    {entry.patient.name}
                    <div className="text-muted cell-mono">{entry.patient.national_id_masked}</div>
                  </td>
                  <td className="cell-wrap">{entry.referral.diagnosis}</td>
                  <td className="cell-wrap">{entry.plan}</td>
                  <td data-testid="follow-up-next" className={entry.next_due === today ? "urgent-note" : undefined}>
                    {entry.next_due ?? t("common.none")}
                  </td>
                  <td>
                    <Link to={`/referrals/${entry.referral.id}`}>{entry.referral.from_institution.name}</Link>
                  </td>
                  <td className="cell-actions">
                    <button type="button" className="btn btn-secondary btn-small" onClick={() => setChanging(entry)} data-testid="colour-open">
                      {t("followUp.change")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {changing ? (
        <ColourDialog
          entry={changing}
          onClose={() => setChanging(null)}
          onDone={() => {
            setChanging(null);
            refresh();
          }}
        />
      ) : null}
    </div>
  );
}
