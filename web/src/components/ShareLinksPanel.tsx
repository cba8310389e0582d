// A case's share links for outside experts: create one for a study (scope, days, recipient), see the
// case's links with their state and use, revoke. The token is shown once, right after creation.

import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { createShareLink, listShareLinks, revokeShareLink } from "../api";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { SHARE_SCOPES, type CaseStudy, type CreatedShareLink, type ShareLink, type ShareScope } from "../types";

const MAX_DAYS = 30;

type Load = { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; links: ShareLink[] };

export default function ShareLinksPanel({ caseId, studies }: { caseId: string; studies: CaseStudy[] }) {
  const { t, i18n } = useTranslation();
  const [load, setLoad] = useState<Load>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  const [studyUid, setStudyUid] = useState(studies[0]?.study_uid ?? "");
  const [scope, setScope] = useState<ShareScope>("read");
  const [days, setDays] = useState(7);
  const [recipient, setRecipient] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ what: "create" | "revoke"; error: unknown } | null>(null);
  const [created, setCreated] = useState<CreatedShareLink | null>(null);
  const [copied, setCopied] = useState(false);
  const when = (iso: string | null) => formatDateTime(iso, i18n.language) || t("common.none");
  const studyName = (uid: string) => {
    const study = studies.find((s) => s.study_uid === uid);
    return study?.description || study?.modalities.join(" / ") || uid;
  };

  useEffect(() => {
    const controller = new AbortController();
    listShareLinks(caseId, controller.signal)
      .then((links) => setLoad({ status: "ok", links }))
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setLoad({ status: "error", error: err });
      });
    return () => controller.abort();
  }, [caseId, attempt]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setCopied(false);
    try {
      const link = await createShareLink(caseId, { study_uid: studyUid, scope, expires_in_days: days, recipient: recipient.trim() });
      setCreated(link);
      setRecipient("");
      setAttempt((n) => n + 1);
    } catch (err) {
      setError({ what: "create", error: err });
    } finally {
      setBusy(false);
    }
  }

  async function revoke(link: ShareLink) {
    if (!window.confirm(t("share.revokeConfirm"))) return;
    setError(null);
    try {
      await revokeShareLink(link.id);
      if (created?.id === link.id) setCreated(null);
      setAttempt((n) => n + 1);
    } catch (err) {
      setError({ what: "revoke", error: err });
    }
  }

  // The URL the expert opens: this origin (the server may sit behind a proxy that renames its host).
  const createdUrl = created ? `${window.location.origin}${created.path}` : "";

  return (
    <section className="share-panel" data-testid="share-panel" aria-labelledby="share-panel-title">
      <h2 className="section-title" id="share-panel-title">
        {t("share.panelTitle")}
      </h2>
      <p className="text-muted share-hint">{t("share.panelHint")}</p>

      <form className="share-form" data-testid="share-form" onSubmit={(e) => void create(e)}>
        <label className="share-field">
          <span className="field-label">{t("share.study")}</span>
          <select value={studyUid} data-testid="share-study" onChange={(e) => setStudyUid(e.target.value)} required>
            {studies.map((s) => (
              <option key={s.study_uid} value={s.study_uid}>
                {studyName(s.study_uid)}
                {s.study_date ? ` · ${s.study_date}` : ""} · {t("viewer.imageCount", { count: s.instance_count })}
              </option>
            ))}
          </select>
        </label>
        <label className="share-field">
          <span className="field-label">{t("share.scope")}</span>
          <select value={scope} data-testid="share-scope" onChange={(e) => setScope(e.target.value as ShareScope)}>
            {SHARE_SCOPES.map((value) => (
              <option key={value} value={value}>
                {t(`share.scopes.${value}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="share-field share-field-days">
          <span className="field-label">{t("share.days")}</span>
          <input
            type="number"
            min={1}
            max={MAX_DAYS}
            value={days}
            data-testid="share-days"
            onChange={(e) => setDays(Math.max(1, Math.min(MAX_DAYS, Math.round(Number(e.target.value) || 1))))}
            required
          />
        </label>
        <label className="share-field share-field-wide">
          <span className="field-label">{t("share.recipient")}</span>
          <input
            type="text"
            maxLength={200}
            value={recipient}
            placeholder={t("share.recipientPlaceholder")}
            data-testid="share-recipient"
            onChange={(e) => setRecipient(e.target.value)}
          />
        </label>
        <button type="submit" className="btn btn-primary" data-testid="share-create" disabled={busy || !studyUid}>
          {busy ? t("share.creating") : t("share.create")}
        </button>
      </form>

      {error ? (
        <p className="form-error" role="alert" data-testid="share-error">
          {t(error.what === "create" ? "share.createError" : "share.revokeError", { message: errorMessage(error.error, t) })}
        </p>
      ) : null}

      {created ? (
        <div className="share-created" data-testid="share-created" role="status">
          <p>{t("share.created")}</p>
          <div className="share-url-row">
            <input className="share-url" readOnly value={createdUrl} data-testid="share-url" data-link-id={created?.id} onFocus={(e) => e.target.select()} />
            <button
              type="button"
              className="btn btn-secondary btn-small"
              data-testid="share-copy"
              onClick={() => void navigator.clipboard?.writeText(createdUrl).then(() => setCopied(true))}
            >
              {copied ? t("share.copied") : t("share.copy")}
            </button>
          </div>
          <p className="text-muted">
            {t(`share.scopes.${created.scope}`)} · {t("share.expiresAt", { date: when(created.expires_at) })}
          </p>
        </div>
      ) : null}

      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {t("share.listError", { message: errorMessage(load.error, t) })}
        </p>
      ) : load.links.length === 0 ? (
        <p className="text-muted" data-testid="share-empty">
          {t("share.listEmpty")}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="share-table">
            <thead>
              <tr>
                <th scope="col">{t("share.columns.study")}</th>
                <th scope="col">{t("share.columns.scope")}</th>
                <th scope="col">{t("share.columns.recipient")}</th>
                <th scope="col">{t("share.columns.createdBy")}</th>
                <th scope="col">{t("share.columns.expires")}</th>
                <th scope="col">{t("share.columns.state")}</th>
                <th scope="col">{t("share.columns.uses")}</th>
                <th scope="col">{t("share.columns.lastUsed")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("share.columns.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {load.links.map((link) => (
                <tr key={link.id} data-testid="share-row" data-link-id={link.id} data-state={link.state}>
                  <td>{link.study_description || studyName(link.study_uid)}</td>
                  <td>{t(`share.scopes.${link.scope}`)}</td>
                  <td>{link.recipient || t("common.none")}</td>
                  <td>{link.created_by}</td>
                  <td className="cell-time">{when(link.expires_at)}</td>
                  <td>
                    <span className={`share-state share-state-${link.state}`}>{t(`share.states.${link.state}`)}</span>
                  </td>
                  <td>{link.use_count}</td>
                  <td className="cell-time">{when(link.last_used_at)}</td>
                  <td>
                    {link.state === "active" ? (
                      <button type="button" className="btn btn-secondary btn-small" data-testid="share-revoke" onClick={() => void revoke(link)}>
                        {t("share.revoke")}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
