// The community administrator's 费用结算: the service catalogue (prices per tier, in 元), the settlement
// agreements with member units (discount or rebate, capped by the baseline cost rate and reviewed every
// six months), the monthly statements (check, invoice, CSV) and the readers' workload.

import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { listAgreements, listCatalogue, listStatements, readerWorkload } from "../apis/billing";
import { previousMonth } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { yuan } from "../money";
import type { PageDef } from "../routes";
import { AgreementForm, AgreementTable } from "../components/billing/AgreementsSection";
import CatalogueTable from "../components/billing/CatalogueTable";
import { institutionChoices } from "../components/billing/institutionChoices";
import StatementsSection from "../components/billing/StatementsSection";
import PageHeader from "../components/PageHeader";

function Loading() {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status">
      {t("common.loading")}
    </p>
  );
}

function Workload() {
  const { t } = useTranslation();
  const [month, setMonth] = useState(previousMonth);
  const [load] = useLoad((signal) => readerWorkload(month, signal), [month]);
  return (
    <>
      <div className="filters">
        <label className="filter">
          <span className="field-label">{t("billing.month")}</span>
          <input type="month" value={month} onChange={(e) => setMonth(e.target.value)} data-testid="workload-month" />
        </label>
      </div>
      {load.status === "loading" ? (
        <Loading />
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {errorMessage(load.error, t)}
        </p>
      ) : load.data.length === 0 ? (
        <p className="text-muted" data-testid="workload-empty">
          {t("billing.workload.empty")}
        </p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="workload-table">
            <thead>
              <tr>
                <th scope="col">{t("billing.workload.reader")}</th>
                <th scope="col">{t("billing.workload.services")}</th>
                <th scope="col">{t("billing.workload.value")}</th>
              </tr>
            </thead>
            <tbody>
              {load.data.map((row) => (
                <tr key={row.user_id} data-testid="workload-row" data-user-id={row.user_id}>
                  <td>{row.display_name}</td>
                  <td>{row.services}</td>
                  <td>¥{yuan(row.value_fen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export default function BillingPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const [catalogue, refreshCatalogue] = useLoad((signal) => listCatalogue(signal), []);
  const [agreements, refreshAgreements] = useLoad((signal) => listAgreements(signal), []);
  const [choices] = useLoad(
    async (signal) => institutionChoices(await listAgreements(signal), await listStatements(null, signal), signal),
    [],
  );
  const codes = useMemo(() => {
    if (catalogue.status !== "ok") return [];
    const byCode = new Map(catalogue.data.map((p) => [p.code, p.name]));
    return [...byCode].map(([code, name]) => ({ code, name }));
  }, [catalogue]);

  return (
    <div className="page billing-page" data-testid="billing-page">
      <PageHeader title={t(page.titleKey)} />

      <section className="case-section">
        <h2 className="section-title">{t("billing.catalogue.title")}</h2>
        {catalogue.status === "ok" ? (
          <CatalogueTable prices={catalogue.data} editable onSaved={refreshCatalogue} />
        ) : catalogue.status === "error" ? (
          <p className="form-error">{errorMessage(catalogue.error, t)}</p>
        ) : (
          <Loading />
        )}
      </section>

      <section className="case-section">
        <h2 className="section-title">{t("billing.agreements.title")}</h2>
        {agreements.status === "ok" ? (
          <AgreementTable agreements={agreements.data} />
        ) : agreements.status === "error" ? (
          <p className="form-error">{errorMessage(agreements.error, t)}</p>
        ) : (
          <Loading />
        )}
        {choices.status === "ok" ? (
          <AgreementForm providers={choices.data.providers} members={choices.data.members} codes={codes} onSaved={refreshAgreements} />
        ) : choices.status === "error" ? (
          <p className="form-error">{errorMessage(choices.error, t)}</p>
        ) : null}
      </section>

      <section className="case-section">
        <h2 className="section-title">{t("billing.statements.sectionTitle")}</h2>
        <StatementsSection isAdmin members={choices.status === "ok" ? choices.data.members : []} />
      </section>

      <section className="case-section">
        <h2 className="section-title">{t("billing.workload.title")}</h2>
        <Workload />
      </section>
    </div>
  );
}
