import { lazy, Suspense } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import type { PageDef } from "../routes";

// Cornerstone3D (rendering, codecs, tools) is large: its chunk is fetched only when the viewer opens.
const ViewerPage = lazy(() => import("./ViewerPage"));

function Loading() {
  const { t } = useTranslation();
  return (
    <p className="loading" role="status" data-testid="viewer-loading">
      {t("viewer.loadingViewer")}
    </p>
  );
}

export default function LazyViewerPage({ page }: { page: PageDef }) {
  const { studyUid = "" } = useParams();
  const [searchParams] = useSearchParams();
  // Another study or case is a new viewer: fresh viewport, series choice and annotations.
  const key = `${studyUid}|${searchParams.get("case") ?? ""}`;
  return (
    <Suspense fallback={<Loading />}>
      <ViewerPage key={key} page={page} />
    </Suspense>
  );
}
