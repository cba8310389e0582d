// A case's report: the signed version (signer, time, institution) with the history of amendments, and,
// for the reader holding the case, the editor built from the template of the case's kind: save a
// draft, sign it (after a confirmation), or amend a signed report with a reason (a new version).

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, caseAction, listReports, reportTemplate, saveReportDraft } from "../api";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { CaseDetail, Report, ReportContent, ReportField, ReportTemplate } from "../types";
import Dialog from "./Dialog";

type Values = Record<string, string>;

function useFieldLabel() {
  const { i18n } = useTranslation();
  return (field: ReportField) => (i18n.language.startsWith("zh") ? field.label_zh : field.label_en);
}

function valuesOf(content: Report["content"] | undefined): Values {
  return Object.fromEntries(Object.entries(content ?? {}).map(([key, value]) => [key, String(value)]));
}

/** The values as report content; the keys of number fields that are not numbers. */
function contentOf(template: ReportTemplate, values: Values): { content: ReportContent; invalid: string[] } {
  const content: ReportContent = {};
  const invalid: string[] = [];
  for (const field of template.fields) {
    const raw = (values[field.key] ?? "").trim();
    if (!raw) continue;
    if (field.type === "number") {
      const number = Number(raw);
      if (Number.isFinite(number)) content[field.key] = number;
      else invalid.push(field.key);
    } else {
      content[field.key] = raw;
    }
  }
  return { content, invalid };
}

function ReportFields({
  template,
  values,
  invalid,
  onChange,
}: {
  template: ReportTemplate;
  values: Values;
  invalid: string[];
  onChange: (values: Values) => void;
}) {
  const { t } = useTranslation();
  const label = useFieldLabel();
  return (
    <div className="report-fields">
      {template.fields.map((field) => (
        <label key={field.key} className={`field${field.type === "number" ? " field-number" : ""}`}>
          <span className="field-label">
            {label(field)}
            {field.required ? <span className="required-mark"> *</span> : <span className="text-muted"> {t("report.optional")}</span>}
          </span>
          {field.type === "number" ? (
            <input
              type="number"
              step="any"
              data-testid={`report-field-${field.key}`}
              aria-invalid={invalid.includes(field.key)}
              value={values[field.key] ?? ""}
              onChange={(e) => onChange({ ...values, [field.key]: e.target.value })}
            />
          ) : (
            <textarea
              rows={4}
              data-testid={`report-field-${field.key}`}
              aria-invalid={invalid.includes(field.key)}
              value={values[field.key] ?? ""}
              onChange={(e) => onChange({ ...values, [field.key]: e.target.value })}
            />
          )}
        </label>
      ))}
    </div>
  );
}

function ReportBody({ template, report }: { template: ReportTemplate; report: Report }) {
  const label = useFieldLabel();
  return (
    <dl className="report-body">
      {template.fields
        .filter((field) => report.content[field.key] !== undefined)
        .map((field) => (
          <div key={field.key} className="report-item" data-testid={`report-value-${field.key}`}>
            <dt>{label(field)}</dt>
            <dd>{String(report.content[field.key])}</dd>
          </div>
        ))}
    </dl>
  );
}

/** The signature of a signed version, and its printable PDF (GET /api/cases/{id}/reports/{version}/pdf). */
function Signature({ caseId, report }: { caseId: number; report: Report }) {
  const { t, i18n } = useTranslation();
  return (
    <p className="report-signature">
      <span data-testid="report-signer">
        {t("report.signedBy", {
          name: report.signed_by?.display_name ?? t("common.none"),
          institution: report.signed_institution?.name ?? t("common.none"),
          time: formatDateTime(report.signed_at, i18n.language),
        })}
      </span>{" "}
      <a
        className="btn btn-secondary btn-small"
        href={`/api/cases/${caseId}/reports/${report.version}/pdf`}
        target="_blank"
        rel="noopener"
        data-testid="report-print"
        data-version={report.version}
      >
        {t("report.print")}
      </a>
    </p>
  );
}

type Mode = "draft" | "amend";

function ReportEditor({
  detail,
  template,
  mode,
  draft,
  basis,
  onDone,
  onCancel,
}: {
  detail: CaseDetail;
  template: ReportTemplate;
  mode: Mode;
  /** The draft in progress, if any (mode "draft"). */
  draft: Report | null;
  /** The signed version being amended (mode "amend"). */
  basis: Report | null;
  onDone: (changed: CaseDetail | null) => void;
  onCancel?: () => void;
}) {
  const { t } = useTranslation();
  const label = useFieldLabel();
  const [values, setValues] = useState<Values>(() => valuesOf((mode === "amend" ? basis : draft)?.content));
  const [reason, setReason] = useState("");
  const [invalid, setInvalid] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const canSign = mode === "amend" || detail.actions.includes("sign");

  const names = (keys: string[]) =>
    keys.map((key) => label(template.fields.find((f) => f.key === key) ?? { key, label_zh: key, label_en: key, type: "text", required: false })).join("、");

  function checked(): ReportContent | null {
    const { content, invalid: bad } = contentOf(template, values);
    setInvalid(bad);
    if (bad.length > 0) {
      setError(t("report.notANumber", { fields: names(bad) }));
      return null;
    }
    return content;
  }

  function explain(err: unknown) {
    if (err instanceof ApiError && err.code === "report_incomplete" && Array.isArray(err.extra.missing)) {
      const missing = err.extra.missing.map(String);
      setInvalid(missing);
      setError(t("report.incomplete", { fields: names(missing) }));
    } else {
      setError(errorMessage(err, t));
    }
  }

  async function saveDraft() {
    const content = checked();
    if (!content) return;
    setBusy(true);
    setError(null);
    try {
      const report = await saveReportDraft(detail.id, content);
      setSaved(t("report.draftSaved", { version: report.version }));
    } catch (err) {
      explain(err);
    } finally {
      setBusy(false);
    }
  }

  async function sign() {
    const content = checked();
    if (!content) return setConfirming(false);
    setBusy(true);
    setError(null);
    try {
      let changed: CaseDetail;
      if (mode === "amend") {
        changed = (await caseAction(detail.id, "amend", { content, reason: reason.trim() })).case;
      } else {
        await saveReportDraft(detail.id, content);
        changed = (await caseAction(detail.id, "sign")).case;
      }
      setConfirming(false);
      onDone(changed);
    } catch (err) {
      setConfirming(false);
      explain(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      className="report-editor"
      data-testid="report-editor"
      data-mode={mode}
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        const missing = template.fields.filter((f) => f.required && !(values[f.key] ?? "").trim()).map((f) => f.key);
        if (missing.length > 0) {
          setInvalid(missing);
          return setError(t("report.incomplete", { fields: names(missing) }));
        }
        if (mode === "amend" && !reason.trim()) return setError(t("report.reasonRequired"));
        if (checked()) setConfirming(true);
      }}
    >
      <h3 className="subsection-title">{mode === "amend" ? t("report.amendTitle", { version: basis?.version ?? 0 }) : t("report.editorTitle")}</h3>
      <ReportFields template={template} values={values} invalid={invalid} onChange={(v) => (setValues(v), setSaved(null))} />
      {mode === "amend" ? (
        <label className="field">
          <span className="field-label">
            {t("report.amendReason")}
            <span className="required-mark"> *</span>
          </span>
          <textarea rows={2} maxLength={4000} data-testid="amend-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
      ) : null}
      {error ? (
        <p className="form-error" role="alert" data-testid="report-error">
          {error}
        </p>
      ) : null}
      {saved ? (
        <p className="form-ok" role="status" data-testid="report-saved">
          {saved}
        </p>
      ) : null}
      <div className="form-actions">
        {mode === "draft" ? (
          <button type="button" className="btn btn-secondary" data-testid="report-save" disabled={busy} onClick={() => void saveDraft()}>
            {t("report.saveDraft")}
          </button>
        ) : null}
        {canSign ? (
          <button type="submit" className="btn btn-primary" data-testid={mode === "amend" ? "amend-submit" : "report-sign"} disabled={busy}>
            {mode === "amend" ? t("report.signAmendment") : t("report.sign")}
          </button>
        ) : null}
        {onCancel ? (
          <button type="button" className="btn btn-ghost" disabled={busy} onClick={onCancel}>
            {t("common.cancel")}
          </button>
        ) : null}
      </div>
      {confirming ? (
        <Dialog
          title={t(mode === "amend" ? "report.confirmAmendTitle" : "report.confirmSignTitle")}
          confirmLabel={mode === "amend" ? t("report.signAmendment") : t("report.sign")}
          onConfirm={() => void sign()}
          onClose={() => setConfirming(false)}
          busy={busy}
          testId="sign-dialog"
        >
          <p>{t(mode === "amend" ? "report.confirmAmendBody" : "report.confirmSignBody")}</p>
        </Dialog>
      ) : null}
    </form>
  );
}

export default function ReportPanel({ detail, onCaseChanged }: { detail: CaseDetail; onCaseChanged: (detail: CaseDetail) => void }) {
  const { t, i18n } = useTranslation();
  const [amending, setAmending] = useState(false);
  const [template] = useLoad((signal) => reportTemplate(detail.kind, signal), [detail.kind]);
  // Reload the versions whenever the case moved (a signature or an amendment changes `updated_at`).
  const [reports, refreshReports] = useLoad((signal) => listReports(detail.id, signal), [detail.id], detail.updated_at);

  if (template.status === "loading" || reports.status === "loading") {
    return (
      <p className="loading" role="status">
        {t("common.loading")}
      </p>
    );
  }
  if (template.status === "error" || reports.status === "error") {
    const error = template.status === "error" ? template.error : reports.status === "error" ? reports.error : null;
    return (
      <p className="form-error" role="alert" data-testid="report-load-error">
        {t("report.loadError", { message: errorMessage(error, t) })}
      </p>
    );
  }

  const versions = reports.data;
  const signed = versions.filter((r) => r.status === "signed");
  const current = signed.at(-1) ?? null;
  const latest = versions.at(-1) ?? null;
  const draft = latest?.status === "draft" ? latest : null;
  const writing = detail.actions.includes("write_report");
  const mayAmend = detail.actions.includes("amend") && current !== null;

  function done(changed: CaseDetail | null) {
    setAmending(false);
    if (changed) onCaseChanged(changed);
    refreshReports();
  }

  return (
    <div className="report-panel" data-testid="report-panel">
      {current ? (
        <article className="report-signed" data-testid="report-signed" data-version={current.version}>
          <header className="report-head">
            <span className="status status-reported">{t("report.signedBadge", { version: current.version })}</span>
            {current.amendment_reason ? (
              <span className="text-muted">{t("report.amendedBecause", { reason: current.amendment_reason })}</span>
            ) : null}
          </header>
          <ReportBody template={template.data} report={current} />
          <Signature caseId={detail.id} report={current} />
          {mayAmend && !amending ? (
            <button type="button" className="btn btn-secondary" data-testid="amend-open" onClick={() => setAmending(true)}>
              {t("report.amend")}
            </button>
          ) : null}
        </article>
      ) : !writing ? (
        <p className="text-muted" data-testid="report-none">
          {t("report.none")}
        </p>
      ) : null}

      {writing ? (
        <ReportEditor key={draft?.id ?? "new"} detail={detail} template={template.data} mode="draft" draft={draft} basis={null} onDone={done} />
      ) : null}
      {amending && current ? (
        <ReportEditor
          detail={detail}
          template={template.data}
          mode="amend"
          draft={null}
          basis={current}
          onDone={done}
          onCancel={() => setAmending(false)}
        />
      ) : null}

      {signed.length > 1 ? (
        <section className="report-history" data-testid="report-history">
          <h3 className="subsection-title">{t("report.history")}</h3>
          <ol>
            {signed
              .slice(0, -1)
              .reverse()
              .map((report) => (
                <li key={report.id} data-testid="report-version" data-version={report.version}>
                  <details>
                    <summary>
                      {t("report.versionLine", {
                        version: report.version,
                        name: report.signed_by?.display_name ?? t("common.none"),
                        time: formatDateTime(report.signed_at, i18n.language),
                      })}
                      {report.amendment_reason ? ` · ${t("report.amendedBecause", { reason: report.amendment_reason })}` : ""}
                    </summary>
                    <ReportBody template={template.data} report={report} />
                    <Signature caseId={detail.id} report={report} />
                  </details>
                </li>
              ))}
          </ol>
        </section>
      ) : null}
    </div>
  );
}
