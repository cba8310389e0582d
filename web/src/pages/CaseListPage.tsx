import { useCallback, useEffect, useMemo, useState } from "react";
import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { listCases, listNotifications } from "../api";
import { useUser } from "../auth";
import { errorMessage } from "../errors";
import type { PageDef } from "../routes";
import { useLoad } from "../hooks/useLoad";
import { useWorklistStream } from "../hooks/useWorklistStream";
import type { Case } from "../types";
import CaseTable from "../components/CaseTable";
import NotificationList from "../components/NotificationList";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";

type Load = { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; cases: Case[] };

/**
 * The cases visible to the user (GET /api/cases) and their unread notifications (结果反馈, 退回补充).
 * Home page of most roles. A step on any of the cases (a report signed...) updates both in place.
 */
export default function CaseListPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const user = useUser();
  const [load, setLoad] = useState<Load>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  const [notifications, refreshNotifications] = useLoad((signal) => listNotifications(signal), []);

  useEffect(() => {
    const controller = new AbortController();
    listCases(controller.signal)
      .then((cases) => setLoad({ status: "ok", cases }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoad({ status: "error", error });
      });
    return () => controller.abort();
  }, [attempt]);

  const refreshAll = useCallback(() => {
    setAttempt((n) => n + 1);
    refreshNotifications();
  }, [refreshNotifications]);
  useWorklistStream(refreshAll, refreshAll);

  const items = notifications.status === "ok" ? notifications.data : [];
  const notices = useMemo(() => {
    const byCase = new Map<number, string[]>();
    for (const n of items) {
      if (n.read_at) continue;
      const kinds = byCase.get(n.case.id) ?? [];
      if (!kinds.includes(n.kind)) byCase.set(n.case.id, [...kinds, n.kind]);
    }
    return byCase;
  }, [items]);

  const title = page.key === "home" ? t("cases.title") : t(page.titleKey);

  return (
    <div className="page">
      <PageHeader
        title={title}
        actions={
          <>
            {load.status === "ok" ? <span className="text-muted">{t("cases.count", { count: load.cases.length })}</span> : null}
            <button type="button" className="btn btn-secondary" onClick={refreshAll} disabled={load.status === "loading"}>
              {t("cases.refresh")}
            </button>
            {user.role === "requester" ? (
              <Link to="/requests/new" className="btn btn-primary" data-testid="new-request-link">
                {t("nav.newRequest")}
              </Link>
            ) : null}
          </>
        }
      />
      <NotificationList items={items} />
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
        <CaseTable cases={load.cases} notices={notices} />
      )}
    </div>
  );
}
