import { useTranslation } from "react-i18next";
import type { PageDef } from "../routes";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";

/** Placeholder for pages that are not built yet. */
export default function ComingSoonPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const title = t(page.titleKey);
  return (
    <div className="page">
      <PageHeader title={title} />
      <Panel title={title} badge={t("comingSoon.badge")} testId="coming-soon">
        <p>{t("comingSoon.body")}</p>
      </Panel>
    </div>
  );
}
