// /share/:token — what an outside expert opens: no account, the one shared study in the viewer,
// under a banner that says this is a time-limited external link and until when it works.

import { lazy, Suspense, useEffect, useState } from "react";
import { useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { ApiError, sharedDicomweb, sharedLinkInfo } from "../api";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import type { SharedLinkInfo } from "../types";
import LanguageSwitch from "../components/LanguageSwitch";
import Panel from "../components/Panel";

const StudyViewer = lazy(() => import("./ViewerPage").then((module) => ({ default: module.StudyViewer })));

type Load = { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; info: SharedLinkInfo };

/** Why a link cannot be opened, in the reader's words: expired, revoked, unknown, or another failure. */
function Refusal({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const code = error instanceof ApiError ? error.code : "";
  const ended = { share_link_expired: "share.expired", share_link_revoked: "share.revoked", share_link_withdrawn: "share.withdrawn" } as const;
  if (code in ended)
    return (
      <Panel tone="warning" title={t(ended[code as keyof typeof ended])} testId="share-refused">
        <p>{t("share.askAgain")}</p>
      </Panel>
    );
  if (code === "share_link_not_found")
    return (
      <Panel tone="error" title={t("share.notFound")} testId="share-refused">
        <p>{t("share.checkLink")}</p>
      </Panel>
    );
  return <Panel tone="error" title={t("share.loadError", { message: errorMessage(error, t) })} testId="share-refused" />;
}

export default function SharePage() {
  const { t, i18n } = useTranslation();
  const { token = "" } = useParams();
  const [load, setLoad] = useState<Load>({ status: "loading" });

  useEffect(() => {
    document.title = t("app.pageTitle", { page: t("share.pageTitle") });
  }, [t]);

  useEffect(() => {
    const controller = new AbortController();
    sharedLinkInfo(token, controller.signal)
      .then((info) => setLoad({ status: "ok", info }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoad({ status: "error", error });
      });
    return () => controller.abort();
  }, [token]);

  const opening = (
    <p className="loading" role="status" data-testid="share-loading">
      {t("share.opening")}
    </p>
  );
  if (load.status === "loading") return <div className="share-page">{opening}</div>;
  if (load.status === "error")
    return (
      <div className="share-page">
        <Refusal error={load.error} />
      </div>
    );

  const { info } = load;
  const expires = formatDateTime(info.expires_at, i18n.language);
  return (
    <div className="share-page share-page-viewer">
      <header className="share-banner" data-testid="share-banner" data-scope={info.scope} data-expires-at={info.expires_at}>
        <span className="share-banner-title">{t("share.bannerTitle")}</span>
        <span className="share-banner-scope">{t(`share.scopes.${info.scope}`)}</span>
        <span className="share-banner-expiry" data-testid="share-expiry">
          {t("share.bannerExpires", { date: expires })}
        </span>
        <span className="share-banner-by">{t("share.bannerSharedBy", { name: info.shared_by, institution: info.shared_by_institution })}</span>
        {info.recipient ? <span className="share-banner-by">{t("share.bannerRecipient", { name: info.recipient })}</span> : null}
        <LanguageSwitch className="on-dark share-banner-lang" />
      </header>
      <Suspense fallback={opening}>
        <StudyViewer
          studyUid={info.study_uid}
          dicomweb={sharedDicomweb(token)}
          caseId={null}
          user={null}
          head={<span className="viewer-back">{t("share.expiresAt", { date: expires })}</span>}
        />
      </Suspense>
    </div>
  );
}
