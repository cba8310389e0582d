// Referrals of the user's institution. For a grassroots doctor (转诊): those they sent up, then those
// referred back down to them. For the upper hospital's referral office and doctors (转诊接收): those
// arriving, then those they sent down. The office receives, books and declines from the list.

import { useTranslation } from "react-i18next";
import { listReferrals } from "../apis/referrals";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import PageHeader from "../components/PageHeader";
import ReferralTable from "../components/referrals/ReferralTable";

function Box({ box }: { box: "incoming" | "outgoing" }) {
  const { t } = useTranslation();
  const [load, refresh] = useLoad((signal) => listReferrals(box, signal), [box]);
  return (
    <section className="case-section" data-testid={`referrals-${box}`}>
      <h2 className="section-title">{t(`referral.box.${box}`)}</h2>
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {errorMessage(load.error, t)}
        </p>
      ) : load.data.length === 0 ? (
        <p className="text-muted" data-testid="referrals-empty">
          {t("referral.empty")}
        </p>
      ) : (
        <ReferralTable referrals={load.data} onChanged={refresh} testId={`referral-table-${box}`} />
      )}
    </section>
  );
}

export default function ReferralsPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const boxes = page.key === "referralDesk" ? (["incoming", "outgoing"] as const) : (["outgoing", "incoming"] as const);
  return (
    <div className="page" data-testid="referrals-page">
      <PageHeader title={t(page.titleKey)} />
      <p className="text-muted">{t(page.key === "referralDesk" ? "referral.deskIntro" : "referral.intro")}</p>
      {boxes.map((box) => (
        <Box key={box} box={box} />
      ))}
    </div>
  );
}
