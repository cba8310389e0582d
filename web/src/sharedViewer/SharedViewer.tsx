// The room's shared viewer: shows the state's target (a DICOM study or series, a slide, an ECG) with the
// platform's own viewers, following the state, or — for the leader — reporting the user's interactions
// as viewer events. Used live in consult and teaching rooms and by the recording player (a folded state).

import { lazy, Suspense, useCallback } from "react";
import { useTranslation } from "react-i18next";
import type { PointerPosition } from "./PointerLayer";
import SharedEcg from "./SharedEcg";
import { useStudyOfTarget } from "./seriesStudy";
import type { ViewerEvent, ViewerState } from "./state";
import "./sharedViewer.css";

// The viewers bring Cornerstone and OpenSeadragon: loaded only when the room opens something.
const SharedStudy = lazy(() => import("./SharedStudy"));
const SharedSlide = lazy(() => import("./SharedSlide"));

/** Where the material comes from: the clinical APIs, or the teaching library's de-identified copies. */
export interface ViewerSources {
  dicomweb: string;
  slideBase: (id: string) => string;
  ecgBase: (id: string) => string;
}

export interface SharedViewerProps {
  state: ViewerState;
  lead: boolean;
  /** The user's own interactions (leader: all; others: pointer moves only). Absent: watch only. */
  onEvent?: (event: ViewerEvent) => void;
  sources: ViewerSources;
  /** Someone else's pointer, 0–1 of the image (pointer moves are not part of the folded state). */
  pointer?: PointerPosition | null;
}

export default function SharedViewer({ state, lead, onEvent, sources, pointer = null }: SharedViewerProps) {
  const { t } = useTranslation();
  const target = state.open;
  const study = useStudyOfTarget(target, sources.dicomweb);
  // Stable, so the pointer layer keeps one throttle.
  const point = useCallback((p: PointerPosition) => onEvent?.({ kind: "pointer", ...p }), [onEvent]);
  const onPointer = onEvent ? point : undefined;
  const common = { state, lead, pointer, onEvent: lead ? onEvent : undefined, onPointer };

  let body;
  if (!target) {
    body = <p className="shared-viewer-empty">{lead ? t("sharedViewer.emptyLeader") : t("sharedViewer.empty")}</p>;
  } else if (!target.id) {
    // Withheld: trainees are never sent an original's id (signaling/events.py `for_observer`).
    body = (
      <p className="shared-viewer-empty" data-testid="shared-viewer-withheld">
        {t("sharedViewer.withheld")}
      </p>
    );
  } else if (target.type === "study" || target.type === "series") {
    body =
      study.status === "known" ? (
        <SharedStudy
          key={study.studyUid}
          studyUid={study.studyUid}
          seriesUid={target.type === "series" ? target.id : null}
          dicomweb={sources.dicomweb}
          {...common}
        />
      ) : (
        <p className="shared-viewer-empty">
          {study.status === "searching" ? t("sharedViewer.loading") : t("sharedViewer.unknownSeries")}
        </p>
      );
  } else if (target.type === "slide") {
    const base = sources.slideBase(target.id);
    body = <SharedSlide key={base} slideId={target.id} base={base} {...common} />;
  } else {
    const base = sources.ecgBase(target.id);
    body = <SharedEcg key={base} ecgId={target.id} base={base} {...common} />;
  }

  return (
    <section
      className={lead ? "shared-viewer shared-lead" : "shared-viewer shared-follow"}
      data-testid="shared-viewer"
      data-lead={lead}
      data-target-type={target?.type ?? ""}
      data-target-id={target?.id ?? ""}
      data-seq={state.seq}
    >
      <Suspense fallback={<p className="shared-viewer-empty loading">{t("sharedViewer.loading")}</p>}>{body}</Suspense>
    </section>
  );
}
