import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { listCases } from "../api";
import { errorMessage } from "../errors";
import type { PageDef } from "../routes";
import type { Case } from "../types";
import CaseTable from "../components/CaseTable";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";

type Load = { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; cases: Case[] };

/** The cases visible to the user (GET /api/cases). Home page of most roles. */
export default function CaseListPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const [load, setLoad] = useState<Load>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoad({ status: "loading" });
    listCases(controller.signal)
      .then((cases) => setLoad({ status: "ok", cases }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoad({ status: "error", error });
      });
    return () => controller.abort();
  }, [attempt]);

  const title = page.key === "home" ? t("cases.title") : t(page.titleKey);

  return (
    <div className="page">
      <PageHeader
        title={title}
        actions={
          <>
            {load.status === "ok" ? <span className="text-muted">{t("cases.count", { count: load.cases.length })}</span> : null}
            <button type="button" className="btn btn-secondary" onClick={() => setAttempt((n) => n + 1)} disabled={load.status === "loading"}>
              {t("cases.refresh")}
            </button>
          </>
        }
      />
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <Panel tone="error" title={t("cases.loadError", { message: errorMessage(load.error, t) })} testId="case-error">
          <button type="button" className="btn btn-secondary" onClick={() => setAttempt((n) => n + 1)}>
            {t("common.retry")}
          </button>
        </Panel>
      ) : load.cases.length === 0 ? (
        <Panel title={t("cases.empty")} testId="case-empty">
          <p>{t("cases.emptyHint")}</p>
        </Panel>
      ) : (
        <CaseTable cases={load.cases} />
      )}
    </div>
  );
}
