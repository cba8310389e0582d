// A whole-slide image in the shared viewer: OpenSeadragon through the slide viewer's own module, the
// view (centre x, y and zoom) followed, or reported by the leader at most 10 times a second.

import { useEffect, useMemo, useReducer, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { getDeepZoom } from "../apis/slides";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { openDeepZoom, type DeepZoomViewer, type SlideView } from "../slides/deepZoomViewer";
import PointerLayer, { type PointerPosition } from "./PointerLayer";
import type { ViewerEvent, ViewerState } from "./state";
import { CONTINUOUS_MS, throttle } from "./throttle";

interface Props {
  slideId: string;
  /** The slide's path: /api/slides/<id>, or the teaching library's copy. */
  base: string;
  state: ViewerState;
  lead: boolean;
  pointer: PointerPosition | null;
  onEvent?: (event: ViewerEvent) => void;
  onPointer?: (position: PointerPosition) => void;
}

const round = (n: number) => Number(n.toFixed(5));
const rounded = (v: SlideView): SlideView => ({ x: round(v.x), y: round(v.y), zoom: round(v.zoom) });
const same = (a: SlideView | null, b: SlideView) => a !== null && a.x === b.x && a.y === b.y && a.zoom === b.zoom;

export default function SharedSlide({ slideId, base, state, lead, pointer, onEvent, onPointer }: Props) {
  const { t } = useTranslation();
  const [zoom] = useLoad((signal) => getDeepZoom(slideId, signal, base), [slideId, base]);
  const stage = useRef<HTMLDivElement>(null);
  const [viewer, setViewer] = useState<DeepZoomViewer | null>(null);
  const [opened, setOpened] = useState(false);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const latest = useRef({ lead, onEvent });
  latest.current = { lead, onEvent };
  const lastSent = useRef<SlideView | null>(null);
  const send = useMemo(() => throttle(CONTINUOUS_MS, (view: SlideView) => latest.current.onEvent?.({ kind: "viewport", ...view })), []);

  useEffect(() => {
    if (!stage.current || zoom.status !== "ok") return;
    let frame = 0;
    const opening = openDeepZoom(stage.current, zoom.data, `${base}/tiles/`, {
      onClick: () => undefined,
      onChange() {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(redraw);
        if (!opening.isOpen()) return;
        setOpened(true);
        const view = rounded(opening.view());
        if (!latest.current.lead || same(lastSent.current, view)) return;
        lastSent.current = view;
        send(view);
      },
    });
    setViewer(opening);
    return () => {
      cancelAnimationFrame(frame);
      send.cancel();
      opening.destroy();
      setViewer(null);
      setOpened(false);
    };
  }, [zoom, base, send]);

  // Following: the leader's view, once the image is open and whenever it changes.
  const target = state.viewport;
  useEffect(() => {
    if (!viewer || !opened || lead || !target || target.x === undefined || target.y === undefined) return;
    const view = { x: target.x, y: target.y, zoom: target.zoom };
    lastSent.current = view;
    viewer.setView(view);
  }, [viewer, opened, lead, target]);

  if (zoom.status === "error")
    return (
      <p className="shared-viewer-empty" role="alert">
        {t("sharedViewer.loadError", { message: errorMessage(zoom.error, t) })}
      </p>
    );
  const view = viewer && opened ? rounded(viewer.view()) : null;
  return (
    <div
      className="viewer shared-slide"
      data-testid="shared-view"
      data-ready={opened}
      data-x={view?.x ?? ""}
      data-y={view?.y ?? ""}
      data-zoom={view?.zoom ?? ""}
    >
      <div className="viewer-toolbar shared-slide-tools" role="toolbar" aria-label={t("slides.toolbar")}>
        <button type="button" className="tool-btn" data-testid="slide-zoom-in" disabled={!opened} onClick={() => viewer?.zoomBy(2)}>
          {t("slides.zoomIn")}
        </button>
        <button type="button" className="tool-btn" data-testid="slide-zoom-out" disabled={!opened} onClick={() => viewer?.zoomBy(0.5)}>
          {t("slides.zoomOut")}
        </button>
        <button type="button" className="tool-btn" data-testid="slide-home" disabled={!opened} onClick={() => viewer?.home()}>
          {t("slides.home")}
        </button>
        <span className="tool-group-end">{view ? t("sharedViewer.slideZoom", { zoom: view.zoom.toFixed(2) }) : t("sharedViewer.loading")}</span>
      </div>
      <div className="viewer-stage slide-stage">
        <div ref={stage} className="slide-viewport" data-testid="slide-viewport" />
        <PointerLayer pointer={pointer} follow={!lead} onPointer={onPointer} />
      </div>
    </div>
  );
}
