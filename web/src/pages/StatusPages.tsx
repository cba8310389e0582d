import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { useUser } from "../auth";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";

export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <div className="page">
      <PageHeader title={t("notFound.title")} />
      <Panel tone="warning" title={t("notFound.title")} testId="not-found">
        <p>{t("notFound.body")}</p>
        <Link to="/">{t("common.backHome")}</Link>
      </Panel>
    </div>
  );
}

export function ForbiddenPage() {
  const { t } = useTranslation();
  const user = useUser();
  return (
    <div className="page">
      <PageHeader title={t("forbidden.title")} />
      <Panel tone="warning" title={t("forbidden.title")} testId="forbidden">
        <p>{t("forbidden.body", { role: t(`role.${user.role}`) })}</p>
        <Link to="/">{t("common.backHome")}</Link>
      </Panel>
    </div>
  );
}
