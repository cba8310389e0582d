import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { saveAgreement, SETTLEMENT_RULES, type Agreement, type NamedInstitution, type SettlementRule } from "../../apis/billing";
import { errorMessage } from "../../errors";
import { parsePercent, percent } from "../../money";

/** The agreements' table: rule, rate and baseline cost rate, with the six-month review reminder. */
export function AgreementTable({ agreements }: { agreements: Agreement[] }) {
  const { t } = useTranslation();
  if (agreements.length === 0) {
    return (
      <p className="text-muted" data-testid="agreement-empty">
        {t("billing.agreements.empty")}
      </p>
    );
  }
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="agreement-table">
        <thead>
          <tr>
            <th scope="col">{t("billing.provider")}</th>
            <th scope="col">{t("billing.member")}</th>
            <th scope="col">{t("billing.code")}</th>
            <th scope="col">{t("billing.rule")}</th>
            <th scope="col">{t("billing.rate")}</th>
            <th scope="col">{t("billing.baseline")}</th>
            <th scope="col">{t("billing.agreements.recordedOn")}</th>
          </tr>
        </thead>
        <tbody>
          {agreements.map((a) => (
            <tr key={a.id} data-testid="agreement-row" data-agreement-id={a.id} data-rule={a.rule} data-rate-bp={a.rate_bp}>
              <td>{a.provider.name}</td>
              <td>{a.member.name}</td>
              <td className="cell-mono">{a.service_code}</td>
              <td>{t(`billing.rules.${a.rule}`)}</td>
              <td>{percent(a.rate_bp)}</td>
              <td>{percent(a.baseline_cost_rate_bp)}</td>
              <td>
                {a.baseline_recorded_on}
                {a.baseline_review_due ? (
                  <span className="badge badge-overdue" data-testid="agreement-review-due" title={t("billing.reviewDueTitle")}>
                    {t("billing.reviewDue")}
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const today = () => new Date().toISOString().slice(0, 10);

/**
 * Records or replaces the agreement of a provider and a member unit for one service code. The rate may
 * not exceed the baseline cost rate (checked here for a quick answer, and by the server).
 */
export function AgreementForm({
  providers,
  members,
  codes,
  onSaved,
}: {
  providers: NamedInstitution[];
  members: NamedInstitution[];
  codes: { code: string; name: string }[];
  onSaved: (agreement: Agreement) => void;
}) {
  const { t } = useTranslation();
  const [provider, setProvider] = useState("");
  const [member, setMember] = useState("");
  const [code, setCode] = useState("");
  const [rule, setRule] = useState<SettlementRule>("discount");
  const [rate, setRate] = useState("");
  const [baseline, setBaseline] = useState("");
  const [recordedOn, setRecordedOn] = useState(today);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const rateBp = parsePercent(rate);
    const baselineBp = parsePercent(baseline);
    if (!provider || !member || !code || !recordedOn) return setError(t("billing.agreements.incomplete"));
    if (rateBp === null || baselineBp === null) return setError(t("billing.agreements.invalidPercent"));
    if (rateBp > baselineBp) return setError(t("billing.agreements.rateAboveBaseline"));
    setBusy(true);
    setError(null);
    try {
      const agreement = await saveAgreement({
        provider_institution_id: Number(provider),
        member_institution_id: Number(member),
        service_code: code,
        rule,
        rate_bp: rateBp,
        baseline_cost_rate_bp: baselineBp,
        baseline_recorded_on: recordedOn,
      });
      setSaved(true);
      onSaved(agreement);
    } catch (err) {
      setError(errorMessage(err, t));
    } finally {
      setBusy(false);
    }
  }

  const select = (value: string, set: (v: string) => void, options: NamedInstitution[], testId: string, label: string) => (
    <label className="field">
      <span className="field-label">{label}</span>
      <select value={value} onChange={(e) => set(e.target.value)} data-testid={testId}>
        <option value="">{t("colleague.choose")}</option>
        {options.map((o) => (
          <option key={o.id} value={String(o.id)}>
            {o.name}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <form className="form-section" data-testid="agreement-form" onSubmit={(e) => void submit(e)} noValidate>
      <h3 className="subsection-title">{t("billing.agreements.formTitle")}</h3>
      <div className="form-grid">
        {select(provider, setProvider, providers, "agreement-provider", t("billing.provider"))}
        {select(member, setMember, members, "agreement-member", t("billing.member"))}
        <label className="field">
          <span className="field-label">{t("billing.service")}</span>
          <select value={code} onChange={(e) => setCode(e.target.value)} data-testid="agreement-code">
            <option value="">{t("colleague.choose")}</option>
            {codes.map((c) => (
              <option key={c.code} value={c.code}>
                {c.name} · {c.code}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">{t("billing.rule")}</span>
          <select value={rule} onChange={(e) => setRule(e.target.value as SettlementRule)} data-testid="agreement-rule">
            {SETTLEMENT_RULES.map((r) => (
              <option key={r} value={r}>
                {t(`billing.rules.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">{t(rule === "discount" ? "billing.agreements.discountRate" : "billing.agreements.rebateRate")} (%)</span>
          <input inputMode="decimal" value={rate} onChange={(e) => setRate(e.target.value)} data-testid="agreement-rate" />
        </label>
        <label className="field">
          <span className="field-label">{t("billing.baseline")} (%)</span>
          <input inputMode="decimal" value={baseline} onChange={(e) => setBaseline(e.target.value)} data-testid="agreement-baseline" />
        </label>
        <label className="field">
          <span className="field-label">{t("billing.agreements.recordedOn")}</span>
          <input type="date" value={recordedOn} max={today()} onChange={(e) => setRecordedOn(e.target.value)} data-testid="agreement-recorded-on" />
        </label>
      </div>
      <p className="text-muted">{t("billing.agreements.hint")}</p>
      {error ? (
        <p className="form-error" role="alert" data-testid="agreement-error">
          {error}
        </p>
      ) : null}
      {saved ? (
        <p className="form-ok" role="status" data-testid="agreement-saved">
          {t("billing.agreements.saved")}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="agreement-save">
          {t("billing.save")}
        </button>
      </div>
    </form>
  );
}
