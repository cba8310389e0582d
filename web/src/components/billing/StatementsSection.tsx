import { useState } from "react";
import { useTranslation } from "react-i18next";
import { advanceStatement, listStatements, statementCsvPath, submitStatements, type NamedInstitution, type Statement } from "../../apis/billing";
import { formatDateTime, previousMonth } from "../../dates";
import { errorMessage } from "../../errors";
import { useLoad } from "../../hooks/useLoad";
import { percent, yuan } from "../../money";

/** A net amount: what the member unit owes, or (negative) what the centre pays back. */
function Net({ fen, testId }: { fen: number; testId: string }) {
  const { t } = useTranslation();
  return (
    <span className={fen < 0 ? "money-payback" : undefined} data-testid={testId} data-fen={fen}>
      ¥{yuan(fen)}
      {fen < 0 ? <span className="badge badge-info">{t("billing.statements.payback")}</span> : null}
    </span>
  );
}

function StatementCard({ statement, isAdmin, onChanged }: { statement: Statement; isAdmin: boolean; onChanged: () => void }) {
  const { t, i18n } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const step = statement.state === "submitted" ? "check" : statement.state === "checked" ? "invoice" : null;

  async function advance(to: "check" | "invoice") {
    setBusy(true);
    setError(null);
    try {
      await advanceStatement(statement.id, to);
      onChanged();
    } catch (err) {
      setError(errorMessage(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <article className="statement" data-testid="statement" data-statement-id={statement.id} data-state={statement.state}>
      <header className="statement-head">
        <h3 className="subsection-title">
          {t("billing.statements.title", { month: statement.month, member: statement.member.name, provider: statement.provider.name })}
        </h3>
        <span className={`status status-statement-${statement.state}`} data-testid="statement-state">
          {t(`billing.states.${statement.state}`)}
        </span>
        {statement.baseline_review_due ? (
          <span className="badge badge-overdue" data-testid="statement-review-due" title={t("billing.reviewDueTitle")}>
            {t("billing.reviewDue")}
          </span>
        ) : null}
      </header>
      <div className="table-wrap">
        <table className="data-table" data-testid="statement-lines">
          <thead>
            <tr>
              <th scope="col">{t("billing.code")}</th>
              <th scope="col">{t("billing.service")}</th>
              <th scope="col">{t("billing.statements.count")}</th>
              <th scope="col">{t("billing.statements.gross")}</th>
              <th scope="col">{t("billing.rule")}</th>
              <th scope="col">{t("billing.rate")}</th>
              <th scope="col">{t("billing.statements.net")}</th>
            </tr>
          </thead>
          <tbody>
            {statement.lines.map((line) => (
              <tr key={line.service_code} data-testid="statement-line" data-code={line.service_code}>
                <td className="cell-mono">{line.service_code}</td>
                <td>{line.service_name}</td>
                <td data-testid="line-count">{line.count}</td>
                <td data-testid="line-gross">¥{yuan(line.gross_fen)}</td>
                <td data-testid="line-rule">{t(`billing.rules.${line.rule}`)}</td>
                <td data-testid="line-rate">{line.rule === "full_price" ? t("common.none") : percent(line.rate_bp)}</td>
                <td>
                  <Net fen={line.net_fen} testId="line-net" />
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={3}>
                {t("billing.statements.total")}
              </th>
              <td data-testid="statement-gross" data-fen={statement.gross_fen}>
                ¥{yuan(statement.gross_fen)}
              </td>
              <td colSpan={2} />
              <td>
                <Net fen={statement.net_fen} testId="statement-net" />
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
      <p className="text-muted statement-times">
        {t("billing.statements.submittedAt", { time: formatDateTime(statement.submitted_at, i18n.language) })}
        {statement.checked_at ? ` · ${t("billing.statements.checkedAt", { time: formatDateTime(statement.checked_at, i18n.language) })}` : ""}
        {statement.invoiced_at ? ` · ${t("billing.statements.invoicedAt", { time: formatDateTime(statement.invoiced_at, i18n.language) })}` : ""}
      </p>
      {error ? (
        <p className="form-error" role="alert" data-testid="statement-error">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <a className="btn btn-secondary" href={statementCsvPath(statement.id)} download data-testid="statement-csv">
          {t("billing.statements.csv")}
        </a>
        {isAdmin && step ? (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void advance(step)} data-testid={`statement-${step}`}>
            {t(`billing.statements.${step}`)}
          </button>
        ) : null}
      </div>
    </article>
  );
}

/**
 * Monthly settlement sheets: submit a past month's (a member unit its own; the administrator for a member
 * unit), then the administrator checks and invoices them. Each can be downloaded as CSV.
 */
export default function StatementsSection({ isAdmin, members = [] }: { isAdmin: boolean; members?: NamedInstitution[] }) {
  const { t } = useTranslation();
  const [month, setMonth] = useState(previousMonth);
  const [member, setMember] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [load, refresh] = useLoad((signal) => listStatements(month || null, signal), [month]);

  async function submit() {
    if (isAdmin && !member) return setMessage({ ok: false, text: t("billing.statements.chooseMember") });
    setBusy(true);
    setMessage(null);
    try {
      const made = await submitStatements(month, isAdmin ? Number(member) : undefined);
      setMessage({ ok: true, text: made.length > 0 ? t("billing.statements.submitted", { count: made.length }) : t("billing.statements.nothing", { month }) });
      refresh();
    } catch (err) {
      setMessage({ ok: false, text: errorMessage(err, t) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="statements" data-testid="statements">
      <div className="filters">
        <label className="filter">
          <span className="field-label">{t("billing.month")}</span>
          <input type="month" value={month} max={previousMonth()} onChange={(e) => (setMonth(e.target.value), setMessage(null))} data-testid="statement-month" />
        </label>
        {isAdmin ? (
          <label className="filter">
            <span className="field-label">{t("billing.member")}</span>
            <select value={member} onChange={(e) => setMember(e.target.value)} data-testid="statement-member">
              <option value="">{t("colleague.choose")}</option>
              {members.map((m) => (
                <option key={m.id} value={String(m.id)}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <button type="button" className="btn btn-primary" disabled={busy || !month} onClick={() => void submit()} data-testid="statement-submit">
          {t("billing.statements.submit")}
        </button>
      </div>
      <p className="text-muted">{t("billing.statements.hint")}</p>
      {message ? (
        <p className={message.ok ? "form-ok" : "form-error"} role={message.ok ? "status" : "alert"} data-testid={message.ok ? "statement-submitted" : "statement-submit-error"}>
          {message.text}
        </p>
      ) : null}
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {errorMessage(load.error, t)}
        </p>
      ) : load.data.length === 0 ? (
        <p className="text-muted" data-testid="statement-empty">
          {t("billing.statements.empty", { month })}
        </p>
      ) : (
        load.data.map((statement) => <StatementCard key={statement.id} statement={statement} isAdmin={isAdmin} onChanged={refresh} />)
      )}
    </div>
  );
}
