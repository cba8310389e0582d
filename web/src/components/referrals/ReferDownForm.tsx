import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { referDown, TRIAGE_COLOURS, type TriageColour } from "../../apis/referrals";
import { errorMessage } from "../../errors";
import TriageBadge from "./TriageBadge";

const DATES = /^\d{4}-\d{2}-\d{2}$/;

/**
 * 下转: the receiving doctor sends the treated or discharged patient back with the diagnosis, a discharge
 * summary and the follow-up plan: what to do, when to see the patient, and the colour of the three-colour
 * triage that says who manages them now.
 */
export default function ReferDownForm({ referralId, diagnosis: initialDiagnosis }: { referralId: number; diagnosis: string }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [diagnosis, setDiagnosis] = useState(initialDiagnosis);
  const [summary, setSummary] = useState("");
  const [plan, setPlan] = useState("");
  const [dates, setDates] = useState("");
  const [colour, setColour] = useState<TriageColour>("green");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const dueDates = dates.split(/[\s,，、]+/).filter(Boolean);
    if (!diagnosis.trim() || !summary.trim() || !plan.trim()) return setError(t("referral.down.incomplete"));
    if (!dueDates.every((d) => DATES.test(d))) return setError(t("referral.down.invalidDates"));
    setBusy(true);
    setError(null);
    try {
      const down = await referDown(referralId, {
        diagnosis: diagnosis.trim(),
        discharge_summary: summary.trim(),
        follow_up: { plan: plan.trim(), due_dates: dueDates, colour },
      });
      navigate(`/referrals/${down.id}`);
    } catch (err) {
      setError(errorMessage(err, t));
      setBusy(false);
    }
  }

  return (
    <form className="form-section" data-testid="refer-down-form" onSubmit={(e) => void submit(e)} noValidate>
      <h3 className="subsection-title">{t("referral.down.title")}</h3>
      <label className="field">
        <span className="field-label">{t("referral.letter.diagnosis")}</span>
        <input value={diagnosis} maxLength={2000} onChange={(e) => setDiagnosis(e.target.value)} data-testid="down-diagnosis" />
      </label>
      <label className="field">
        <span className="field-label">{t("referral.down.summary")}</span>
        <textarea rows={4} maxLength={20000} value={summary} onChange={(e) => setSummary(e.target.value)} data-testid="down-summary" />
      </label>
      <label className="field">
        <span className="field-label">{t("referral.down.plan")}</span>
        <textarea rows={3} maxLength={20000} value={plan} onChange={(e) => setPlan(e.target.value)} data-testid="down-plan" />
      </label>
      <label className="field">
        <span className="field-label">{t("referral.down.dates")}</span>
        <input value={dates} placeholder="2027-01-15, 2027-02-15" onChange={(e) => setDates(e.target.value)} data-testid="down-dates" />
      </label>
      <fieldset className="field">
        <legend className="field-label">{t("referral.down.colour")}</legend>
        <div className="choice-row" role="radiogroup">
          {TRIAGE_COLOURS.map((c) => (
            <label key={c}>
              <input type="radio" checked={colour === c} onChange={() => setColour(c)} data-testid={`down-colour-${c}`} />
              <TriageBadge colour={c} />
            </label>
          ))}
        </div>
      </fieldset>
      {error ? (
        <p className="form-error" role="alert" data-testid="down-error">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="down-submit">
          {t("referral.down.submit")}
        </button>
      </div>
    </form>
  );
}
