// 转诊上转 from a case: the family doctor writes the referral letter (reason, diagnosis, history, treatment
// so far) to a higher-tier hospital of the community; the case's images and signed report travel with
// it. The patient's national ID or health-card number must be on record: the receiving hospital checks it.

import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { getCase, listCaseStudies } from "../api";
import { listColleagues } from "../apis/directory";
import { createReferral } from "../apis/referrals";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";

/** Hospitals a patient can be referred up to: those of the community's readers and experts (county, tertiary). */
async function upperInstitutions(signal: AbortSignal): Promise<{ id: number; name: string }[]> {
  const people = [...(await listColleagues("reader", null, signal)), ...(await listColleagues("expert", null, signal))];
  return [...new Map(people.map((p) => [p.institution.id, p.institution.name]))].map(([id, name]) => ({ id, name }));
}

export default function ReferralNewPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { caseId = "" } = useParams();
  const id = Number(caseId);
  const [detail] = useLoad((signal) => getCase(id, signal), [id]);
  const [studies] = useLoad((signal) => listCaseStudies(id, signal), [id]);
  const [targets] = useLoad(upperInstitutions, []);
  const [to, setTo] = useState("");
  const [reason, setReason] = useState("");
  const [diagnosis, setDiagnosis] = useState("");
  const [history, setHistory] = useState("");
  const [treatment, setTreatment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!to || !reason.trim() || !diagnosis.trim()) return setError(t("referral.new.incomplete"));
    setBusy(true);
    setError(null);
    try {
      const referral = await createReferral({
        case_id: id,
        to_institution_id: Number(to),
        reason: reason.trim(),
        diagnosis: diagnosis.trim(),
        history: history.trim(),
        treatment: treatment.trim(),
      });
      navigate(`/referrals/${referral.id}`);
    } catch (err) {
      setError(errorMessage(err, t));
      setBusy(false);
    }
  }

  const back = (
    <Link to={`/cases/${caseId}`} className="btn btn-secondary">
      {t("casePage.back")}
    </Link>
  );
  if (detail.status === "error") {
    return (
      <div className="page">
        <PageHeader title={t(page.titleKey)} actions={back} />
        <Panel tone="error" title={errorMessage(detail.error, t)} />
      </div>
    );
  }
  const text = (value: string, set: (v: string) => void, key: "reason" | "diagnosis" | "history" | "treatment", required = false) => (
    <label className="field">
      <span className="field-label">
        {t(`referral.letter.${key}`)}
        {required ? <span className="required-mark"> *</span> : null}
      </span>
      <textarea rows={key === "diagnosis" ? 2 : 3} maxLength={20000} value={value} onChange={(e) => set(e.target.value)} data-testid={`refer-${key}`} />
    </label>
  );
  return (
    <div className="page">
      <PageHeader title={t(page.titleKey)} actions={back} />
      <form className="request-form" data-testid="referral-form" onSubmit={(e) => void submit(e)} noValidate>
        {detail.status === "ok" ? (
          <p className="text-muted" data-testid="refer-case">
            {t("referral.new.forCase", { id: detail.data.id, patient: detail.data.patient.name, kind: t(`kind.${detail.data.kind}`) })}
          </p>
        ) : null}
        <fieldset className="form-section">
          <legend>{t("referral.new.to")}</legend>
          <label className="field">
            <span className="field-label">
              {t("referral.new.hospital")}
              <span className="required-mark"> *</span>
            </span>
            <select value={to} onChange={(e) => setTo(e.target.value)} data-testid="refer-to" disabled={targets.status !== "ok"}>
              <option value="">{t("colleague.choose")}</option>
              {targets.status === "ok"
                ? targets.data.map((i) => (
                    <option key={i.id} value={String(i.id)}>
                      {i.name}
                    </option>
                  ))
                : null}
            </select>
          </label>
        </fieldset>
        <fieldset className="form-section">
          <legend>{t("referral.letter.title")}</legend>
          {text(reason, setReason, "reason", true)}
          {text(diagnosis, setDiagnosis, "diagnosis", true)}
          {text(history, setHistory, "history")}
          {text(treatment, setTreatment, "treatment")}
        </fieldset>
        <fieldset className="form-section">
          <legend>{t("referral.material.title")}</legend>
          <p data-testid="refer-material">
            {studies.status === "ok" ? t("referral.new.material", { count: studies.data.length }) : t("common.loading")}
          </p>
        </fieldset>
        {error ? (
          <p className="form-error" role="alert" data-testid="refer-error">
            {error}
          </p>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="refer-submit">
            {t("referral.new.submit")}
          </button>
        </div>
      </form>
    </div>
  );
}
