import { useEffect, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

/** Page heading; also sets the document title. */
export default function PageHeader({ title, actions }: { title: string; actions?: ReactNode }) {
  const { t } = useTranslation();
  useEffect(() => {
    document.title = t("app.pageTitle", { page: title });
  }, [t, title]);
  return (
    <header className="page-header">
      <h1 className="page-title" data-testid="page-title">
        {title}
      </h1>
      {actions ? <div className="page-actions">{actions}</div> : null}
    </header>
  );
}
