// The slide viewer (/cases/:caseId/slides/:slideId): pan and zoom through the deep-zoom pyramid, a scale bar
// from the scanner's microns per pixel, and point / line (µm) / polygon (µm²) measurements drawn on an SVG
// overlay in base-level image pixels, saved to the case (`/api/slides/{id}/annotations`; the server
// recomputes µm and µm² from the slide's calibration). `window.__slideViewer` is a
// read-only test hook (web/README.md).

import { useEffect, useReducer, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import {
  getDeepZoom,
  getSlide,
  listSlideAnnotations,
  saveSlideAnnotations,
  slideTilesUrl,
  type DeepZoom,
  type SavedSlideAnnotation,
  type Slide,
} from "../apis/slides";
import { useUser } from "../auth";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import { openDeepZoom, type DeepZoomViewer } from "../slides/deepZoomViewer";
import {
  formatArea,
  formatLength,
  line,
  polygon,
  scaleBar,
  type Annotation,
  type Mpp,
  type Point,
  type Tool,
} from "../slides/measure";

const TOOLS: readonly Tool[] = ["pan", "point", "line", "polygon"];

/** A saved mark back in the viewer's form, measured again with this slide's calibration. */
function fromSaved(saved: SavedSlideAnnotation, mpp: Mpp | null): Annotation | null {
  const [a, b] = saved.points;
  if (saved.tool === "point") return { tool: "point", points: [a] };
  if (!mpp) return null;
  return saved.tool === "line" ? line(a, b, mpp) : polygon(saved.points, mpp);
}

interface SlideViewerTestApi {
  zoom(): number;
  level(): number;
  maxLevel(): number;
  tilesLoaded(level: number): number;
  tileErrors(): number;
  fullyLoaded(): boolean;
  mpp(): Mpp | null;
  scaleBar(): { um: number; px: number } | null;
  annotationCount(): number;
  lastMeasurement(): Annotation | null;
}

declare global {
  interface Window {
    __slideViewer?: SlideViewerTestApi;
  }
}

function slideMpp(slide: Slide): Mpp | null {
  return slide.mpp_x && slide.mpp_y ? { x: slide.mpp_x, y: slide.mpp_y } : null;
}

function MeasurementText({ annotation: a }: { annotation: Annotation }) {
  const { t } = useTranslation();
  if (a.tool === "line") return <>{t("slides.measure.line", { length: formatLength(a.lengthUm) })}</>;
  if (a.tool === "polygon") {
    return <>{t("slides.measure.polygon", { area: formatArea(a.areaUm2), perimeter: formatLength(a.perimeterUm) })}</>;
  }
  return <>{t("slides.measure.point", { x: Math.round(a.points[0].x), y: Math.round(a.points[0].y) })}</>;
}

/** Drops the repeated point a double click adds (its two clicks land on the same pixel). */
function withoutRepeats(points: Point[]): Point[] {
  return points.filter((p, i) => i === 0 || Math.hypot(p.x - points[i - 1].x, p.y - points[i - 1].y) > 1e-6);
}

function Overlay({ viewer, annotations, draft }: { viewer: DeepZoomViewer; annotations: Annotation[]; draft: Point[] }) {
  const path = (points: Point[]) => points.map((p) => viewer.toScreen(p)).map((s) => `${s.x},${s.y}`).join(" ");
  return (
    <svg className="slide-overlay" data-testid="slide-overlay" aria-hidden="true">
      {annotations.map((a, i) => {
        if (a.tool === "point") {
          const s = viewer.toScreen(a.points[0]);
          return <circle key={i} cx={s.x} cy={s.y} r={5} className="slide-mark" />;
        }
        return a.tool === "line" ? (
          <polyline key={i} points={path(a.points)} className="slide-mark" />
        ) : (
          <polygon key={i} points={path(a.points)} className="slide-mark slide-area" />
        );
      })}
      {draft.length ? <polyline points={path(draft)} className="slide-mark slide-draft" /> : null}
      {draft.map((p, i) => {
        const s = viewer.toScreen(p);
        return <circle key={`d${i}`} cx={s.x} cy={s.y} r={3} className="slide-mark slide-draft" />;
      })}
    </svg>
  );
}

function Viewer({ slide, zoom }: { slide: Slide; zoom: DeepZoom }) {
  const { t } = useTranslation();
  const stage = useRef<HTMLDivElement>(null);
  const [viewer, setViewer] = useState<DeepZoomViewer | null>(null);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [tool, setTool] = useState<Tool>("pan");
  const [annotations, setAnnotations] = useState<Annotation[]>([]);
  const [draft, setDraftState] = useState<Point[]>([]);
  const [saving, setSaving] = useState<{ state: "idle" | "saving" | "saved" | "error"; message?: string }>({ state: "idle" });
  const mpp = slideMpp(slide);
  const user = useUser();

  // The reader's own marks saved to the case before (saving replaces exactly these).
  useEffect(() => {
    const controller = new AbortController();
    listSlideAnnotations(slide.id, controller.signal)
      .then((saved) =>
        setAnnotations(
          saved
            .filter((a) => a.author.id === user.id)
            .map((a) => fromSaved(a, mpp))
            .filter((a): a is Annotation => a !== null),
        ),
      )
      .catch(() => undefined);
    return () => controller.abort();
  }, [slide.id, user.id]);

  async function save() {
    setSaving({ state: "saving" });
    try {
      const saved = await saveSlideAnnotations(
        slide.id,
        annotations.map((a) => ({ tool: a.tool, points: a.points })),
      );
      setSaving({ state: "saved", message: t("slides.saved", { count: saved.filter((a) => a.author.id === user.id).length }) });
    } catch (error) {
      setSaving({ state: "error", message: errorMessage(error, t) });
    }
  }

  // Clicks reach OpenSeadragon's handlers, set once; they read the tool through this ref, and the draft
  // through its own, updated at once (two clicks of a double click come before any re-render).
  const latest = useRef({ tool, mpp });
  latest.current = { tool, mpp };
  const drafted = useRef<Point[]>([]);
  function setDraft(points: Point[]) {
    drafted.current = points;
    setDraftState(points);
  }

  function finishPolygon() {
    const clean = withoutRepeats(drafted.current);
    const scale = latest.current.mpp;
    if (clean.length >= 3 && scale) setAnnotations((list) => [...list, polygon(clean, scale)]);
    setDraft([]);
  }

  useEffect(() => {
    if (!stage.current) return;
    let frame = 0;
    const opened = openDeepZoom(stage.current, zoom, slideTilesUrl(slide.id), {
      onChange() {
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(redraw);
      },
      onClick(p, double) {
        const { tool: current, mpp: scale } = latest.current;
        const points = drafted.current;
        if (current === "pan") return;
        if (current === "point") setAnnotations((list) => [...list, { tool: "point", points: [p] }]);
        else if (current === "line" && scale) {
          if (points.length === 0) setDraft([p]);
          else {
            setAnnotations((list) => [...list, line(points[0], p, scale)]);
            setDraft([]);
          }
        } else if (current === "polygon" && scale) {
          if (double) finishPolygon();
          else setDraft([...points, p]);
        }
      },
    });
    setViewer(opened);
    return () => {
      cancelAnimationFrame(frame);
      opened.destroy();
      setViewer(null);
    };
  }, [slide.id, zoom]);

  const umPerScreenPx = viewer && mpp && viewer.zoom() > 0 ? mpp.x / viewer.zoom() : null;
  const bar = umPerScreenPx ? scaleBar(umPerScreenPx) : null;

  const api = useRef<{ viewer: DeepZoomViewer | null; annotations: Annotation[]; bar: typeof bar }>({ viewer, annotations, bar });
  api.current = { viewer, annotations, bar };
  useEffect(() => {
    const now = () => api.current;
    window.__slideViewer = {
      zoom: () => now().viewer?.zoom() ?? 0,
      level: () => now().viewer?.level() ?? 0,
      maxLevel: () => now().viewer?.maxLevel() ?? 0,
      tilesLoaded: (level) => now().viewer?.tilesLoaded(level) ?? 0,
      tileErrors: () => now().viewer?.tileErrors() ?? 0,
      fullyLoaded: () => now().viewer?.fullyLoaded() ?? false,
      mpp: () => mpp,
      scaleBar: () => now().bar,
      annotationCount: () => now().annotations.length,
      lastMeasurement: () => now().annotations.at(-1) ?? null,
    };
    return () => {
      delete window.__slideViewer;
    };
  }, [mpp]);

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.key === "Escape") setDraft([]);
      if (e.key === "Enter" && latest.current.tool === "polygon") finishPolygon();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const ready = viewer?.fullyLoaded() ?? false;
  return (
    <section className="viewer-main">
      <div className="viewer-toolbar" role="toolbar" aria-label={t("slides.toolbar")}>
        <div className="tool-group">
          {TOOLS.map((name) => (
            <button
              key={name}
              type="button"
              className={tool === name ? "tool-btn active" : "tool-btn"}
              data-testid={`slide-tool-${name}`}
              aria-pressed={tool === name}
              title={t(`slides.toolHelp.${name}`)}
              disabled={name !== "pan" && !mpp}
              onClick={() => {
                setTool(name);
                setDraft([]);
              }}
            >
              {t(`slides.tools.${name}`)}
            </button>
          ))}
          {/* Always there, so choosing a tool never reflows the toolbar (and resizes the slide). */}
          <button
            type="button"
            className="tool-btn"
            data-testid="slide-polygon-close"
            disabled={tool !== "polygon" || draft.length < 3}
            onClick={finishPolygon}
          >
            {t("slides.closePolygon")}
          </button>
        </div>
        <div className="tool-group">
          <button type="button" className="tool-btn" data-testid="slide-zoom-in" disabled={!viewer} onClick={() => viewer?.zoomBy(2)}>
            {t("slides.zoomIn")}
          </button>
          <button type="button" className="tool-btn" data-testid="slide-zoom-out" disabled={!viewer} onClick={() => viewer?.zoomBy(0.5)}>
            {t("slides.zoomOut")}
          </button>
          <button type="button" className="tool-btn" data-testid="slide-home" disabled={!viewer} onClick={() => viewer?.home()}>
            {t("slides.home")}
          </button>
        </div>
        <div className="tool-group tool-group-end">
          <span data-testid="slide-level" data-level={viewer?.level() ?? ""}>
            {viewer ? t("slides.levelLine", { level: viewer.level(), max: viewer.maxLevel(), zoom: (viewer.zoom() * 100).toFixed(1) }) : null}
          </span>
        </div>
      </div>
      <div className={tool === "pan" ? "viewer-stage slide-stage" : "viewer-stage slide-stage slide-drawing"}>
        <div ref={stage} className="slide-viewport" data-testid="slide-viewport" />
        {viewer ? <Overlay viewer={viewer} annotations={annotations} draft={draft} /> : null}
        {bar ? (
          <div className="slide-scale-bar" data-testid="slide-scale-bar" data-um={bar.um} data-px={bar.px.toFixed(2)}>
            <span className="slide-scale-line" style={{ width: `${bar.px}px` }} />
            <span>{formatLength(bar.um)}</span>
          </div>
        ) : (
          <div className="slide-scale-bar" data-testid="slide-scale-missing">
            {t("slides.noMpp")}
          </div>
        )}
      </div>
      <div className="viewer-statusbar">
        <span data-testid="slide-viewer-status" data-state={ready ? "ready" : "loading"}>
          {ready ? t("slides.ready") : t("common.loading")}
        </span>
        <span className="viewer-hint">{t(`slides.toolHelp.${tool}`)}</span>
      </div>
      <div className="slide-annotations">
        <h2 className="section-title">{t("slides.annotations", { count: annotations.length })}</h2>
        <ol data-testid="slide-annotation-list" data-count={annotations.length}>
          {annotations.map((a, i) => (
            <li
              key={i}
              data-testid="slide-annotation"
              data-tool={a.tool}
              data-length-um={a.tool === "line" ? a.lengthUm.toFixed(3) : undefined}
              data-area-um2={a.tool === "polygon" ? a.areaUm2.toFixed(1) : undefined}
            >
              <MeasurementText annotation={a} />{" "}
              <button
                type="button"
                className="btn btn-ghost btn-small"
                data-testid="slide-annotation-delete"
                onClick={() => setAnnotations((list) => list.filter((_, j) => j !== i))}
              >
                {t("slides.delete")}
              </button>
            </li>
          ))}
        </ol>
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-primary"
            data-testid="slide-annotations-save"
            disabled={saving.state === "saving"}
            onClick={() => void save()}
          >
            {t("slides.save")}
          </button>
          <span
            className={saving.state === "error" ? "form-error" : "text-muted"}
            data-testid="slide-annotations-saved"
            data-state={saving.state}
          >
            {saving.message ?? ""}
          </span>
        </div>
      </div>
    </section>
  );
}

export default function SlideViewerPage(_props: { page: PageDef }) {
  const { t } = useTranslation();
  const { caseId: rawCase = "", slideId: rawSlide = "" } = useParams();
  const caseId = Number(rawCase);
  const slideId = Number(rawSlide);
  const [slide] = useLoad((signal) => getSlide(slideId, signal), [slideId]);
  const [zoom] = useLoad((signal) => getDeepZoom(slideId, signal), [slideId]);
  const failed = [slide, zoom].find((load) => load.status === "error");
  const mismatch = slide.status === "ok" && slide.data.case_id !== caseId;
  return (
    <div className="viewer slide-viewer" data-testid="slide-viewer" data-slide-id={slideId}>
      <aside className="viewer-side">
        <div className="viewer-side-head">
          <Link to={`/cases/${caseId}`} className="viewer-back">
            {t("slides.backToCase")}
          </Link>
          <h1 className="viewer-study-title" data-testid="page-title">
            {t("slides.viewerTitle", { id: slideId })}
          </h1>
          {slide.status === "ok" ? (
            <p className="viewer-study-meta">
              {[
                `${slide.data.width} × ${slide.data.height} px`,
                slide.data.mpp_x ? t("slides.mpp", { mpp: slide.data.mpp_x.toFixed(4) }) : t("slides.noMpp"),
                slide.data.objective_power ? `${slide.data.objective_power}×` : null,
                slide.data.vendor,
              ]
                .filter(Boolean)
                .join(" · ")}
            </p>
          ) : null}
        </div>
        <p className="viewer-side-note">{t("slides.sideNote")}</p>
      </aside>
      {failed && failed.status === "error" ? (
        <p className="form-error viewer-side-note" role="alert" data-testid="slide-viewer-status" data-state="error">
          {t("slides.loadError", { message: errorMessage(failed.error, t) })}
        </p>
      ) : mismatch ? (
        <p className="form-error viewer-side-note" role="alert" data-testid="slide-viewer-status" data-state="error">
          {t("slides.otherCase")}
        </p>
      ) : slide.status === "ok" && zoom.status === "ok" ? (
        <Viewer slide={slide.data} zoom={zoom.data} />
      ) : (
        <p className="loading viewer-side-note" role="status" data-testid="slide-viewer-status" data-state="loading">
          {t("common.loading")}
        </p>
      )}
    </div>
  );
}
