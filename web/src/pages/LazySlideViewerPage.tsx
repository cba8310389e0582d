import { lazy, Suspense } from "react";
import { useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import type { PageDef } from "../routes";

// OpenSeadragon is fetched only when a slide is opened: its own chunk, not the shell's.
const SlideViewerPage = lazy(() => import("./SlideViewerPage"));

export default function LazySlideViewerPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const { slideId = "" } = useParams();
  return (
    <Suspense
      fallback={
        <p className="loading" role="status" data-testid="slide-viewer-status" data-state="loading">
          {t("common.loading")}
        </p>
      }
    >
      <SlideViewerPage key={slideId} page={page} />
    </Suspense>
  );
}
