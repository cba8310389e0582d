// A member unit's 结算单: submit the unit's monthly statements, read them and their lines, download them
// as CSV, and see the agreements they are settled under (prices and rates are the administrator's).

import { useTranslation } from "react-i18next";
import { listAgreements } from "../apis/billing";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import { AgreementTable } from "../components/billing/AgreementsSection";
import StatementsSection from "../components/billing/StatementsSection";
import PageHeader from "../components/PageHeader";

export default function StatementsPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const [agreements] = useLoad((signal) => listAgreements(signal), []);
  return (
    <div className="page" data-testid="statements-page">
      <PageHeader title={t(page.titleKey)} />
      <section className="case-section">
        <h2 className="section-title">{t("billing.statements.sectionTitle")}</h2>
        <StatementsSection isAdmin={false} />
      </section>
      <section className="case-section">
        <h2 className="section-title">{t("billing.agreements.title")}</h2>
        {agreements.status === "ok" ? (
          <AgreementTable agreements={agreements.data} />
        ) : agreements.status === "error" ? (
          <p className="form-error">{errorMessage(agreements.error, t)}</p>
        ) : null}
      </section>
    </div>
  );
}
