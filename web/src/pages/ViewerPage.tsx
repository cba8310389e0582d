// The DICOM viewer: series browser on the left, one Cornerstone3D stack viewport with
// window/level, presets, zoom/pan, invert, cine and measurements; annotations saved to the case.
// Loaded lazily (React.lazy in LazyViewerPage) so the shell's bundle stays small.

import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import * as api from "../api";
import type { DicomJson } from "../api";
import type { Annotation as SavedAnnotation, User } from "../types";
import { useUser } from "../auth";
import { errorMessage } from "../errors";
import type { PageDef } from "../routes";
import { fromSaved, isMine, toSaved, wadorsImageId } from "../viewer/annotations";
import { StackController, windowOf, type PrimaryTool, type Voi } from "../viewer/controller";
import { TAG, formatDicomDate, nums, num, orderFrames, str, type StackFrame } from "../viewer/dicom";

/** CT window presets: centre / width in HU. */
export const PRESETS = {
  brain: { center: 40, width: 80 },
  lung: { center: -600, width: 1500 },
  mediastinum: { center: 50, width: 350 },
  bone: { center: 400, width: 1800 },
  abdomen: { center: 40, width: 400 },
} as const;
type PresetName = keyof typeof PRESETS;

const TOOL_ORDER: PrimaryTool[] = ["wl", "pan", "zoom", "length", "angle", "rect", "roi"];
const FPS_CHOICES = [5, 10, 15, 20, 30];

interface SeriesInfo {
  uid: string;
  modality: string;
  description: string;
  number: number | null;
  count: number;
}

type Load<T> = { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; value: T };
type ViewState = "idle" | "loading" | "ready" | "error";

/** The read-only test hook on window.__viewer (documented in web/README.md). */
interface ViewerTestApi {
  imageIndex(): number;
  voi(): Voi;
  imageCount(): number;
  annotationCount(): number;
}
declare global {
  interface Window {
    __viewer?: ViewerTestApi;
  }
}

function seriesInfo(ds: DicomJson): SeriesInfo {
  return {
    uid: str(ds, TAG.seriesUid),
    modality: str(ds, TAG.modality),
    description: str(ds, TAG.seriesDescription),
    number: num(ds, TAG.seriesNumber),
    count: num(ds, TAG.instanceCountSeries) ?? 0,
  };
}

/** The series to open first: the one with most images (not a scout), then the lowest number. */
function defaultSeries(series: SeriesInfo[]): SeriesInfo | undefined {
  return [...series].sort((a, b) => b.count - a.count || (a.number ?? 0) - (b.number ?? 0))[0];
}

class EmptySeriesError extends Error {}

function windowText(voi: Voi | null): string {
  if (!voi) return "";
  const { width, center } = windowOf(voi);
  return `W: ${Math.round(width)} L: ${Math.round(center)}`;
}

/** Position of a slice along its normal (mm): SliceLocation when present, else from the position. */
function slicePosition(frame: StackFrame | undefined): number | null {
  if (!frame) return null;
  const location = num(frame.instance, TAG.sliceLocation);
  if (location !== null) return location;
  const position = nums(frame.instance, TAG.imagePosition);
  const o = nums(frame.instance, TAG.imageOrientation);
  if (position.length !== 3 || o.length !== 6) return null;
  const n = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  return position[0] * n[0] + position[1] * n[1] + position[2] * n[2];
}

/** The measurements' tools, labels and points, rounded: equal signatures mean nothing to save. */
function signature(controller: StackController): string {
  return JSON.stringify(
    controller
      .measurements()
      .map((a) => [
        a.annotationUID,
        a.metadata?.toolName,
        a.data?.label ?? "",
        (a.data?.handles?.points ?? []).map((p) => p.map((n) => Math.round(n * 100))),
      ])
      .sort(),
  );
}

function SeriesThumb({ url, modality }: { url: string; modality: string }) {
  const [failed, setFailed] = useState(false);
  if (failed)
    return (
      <span className="series-thumb series-thumb-empty" aria-hidden="true">
        {modality || "?"}
      </span>
    );
  return <img className="series-thumb" src={url} alt="" loading="lazy" onError={() => setFailed(true)} />;
}

/** The viewer page of a signed-in user: /viewer/:studyUid?case=<id>. */
export default function ViewerPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const user = useUser();
  const { studyUid = "" } = useParams();
  const [searchParams] = useSearchParams();
  const caseId = searchParams.get("case");

  useEffect(() => {
    document.title = t("app.pageTitle", { page: t(page.titleKey) });
  }, [t, page.titleKey]);

  const back = caseId ? (
    <Link to={`/cases/${encodeURIComponent(caseId)}/images`} className="viewer-back">
      ← {t("viewer.backToCase")}
    </Link>
  ) : (
    <Link to="/" className="viewer-back">
      ← {t("common.backHome")}
    </Link>
  );
  return <StudyViewer studyUid={studyUid} dicomweb={api.DICOMWEB} caseId={caseId} user={user} head={back} />;
}

export interface StudyViewerProps {
  studyUid: string;
  /** DICOMweb root: api.DICOMWEB for a signed-in user, api.sharedDicomweb(token) for a share link. */
  dicomweb: string;
  /** The case measurements are saved to; null: measure only, nothing is saved. */
  caseId: string | null;
  /** Null for an outside expert on a share link: no saved annotations, no save button. */
  user: User | null;
  /** Shown above the study title: a back link, or the share link's notice. */
  head: ReactNode;
  /** Shared viewer (consult rooms): the series the room's leader shows; undefined: the viewer's own choice. */
  series?: string | null;
  /** The user picked a series in the list. */
  onSeriesChange?: (seriesUid: string) => void;
  /** The viewport's controller once mounted (null when it goes), for the shared viewer to drive and follow. */
  onController?: (controller: StackController | null) => void;
  /** Drawn over the image: the shared viewer's pointer dot. */
  overlay?: ReactNode;
}

/** One study in the viewer, from whichever DICOMweb root the caller may use. */
export function StudyViewer({ studyUid, dicomweb, caseId, user, head, series, onSeriesChange, onController, overlay }: StudyViewerProps) {
  const { t } = useTranslation();

  const [study, setStudy] = useState<Load<{ study: DicomJson | null; series: SeriesInfo[] }>>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  const [selected, setSelected] = useState<string | null>(null);
  const [frames, setFrames] = useState<StackFrame[]>([]);
  const [viewState, setViewState] = useState<ViewState>("idle");
  const [viewError, setViewError] = useState<unknown>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [slice, setSlice] = useState({ index: 0, count: 0 });
  const [voi, setVoi] = useState<Voi | null>(null);
  const [inverted, setInverted] = useState(false);
  const [tool, setTool] = useState<PrimaryTool>("wl");
  const [cine, setCine] = useState(false);
  const [fps, setFps] = useState(10);
  const [annotationCount, setAnnotationCount] = useState(0);
  const [dirty, setDirty] = useState(false);
  const [save, setSave] = useState<{ status: "idle" | "saving" | "saved" | "error"; count?: number; error?: unknown }>({
    status: "idle",
  });

  const elementRef = useRef<HTMLDivElement | null>(null);
  const controllerRef = useRef<StackController | null>(null);
  const [mounted, setMounted] = useState<StackController | null>(null);
  const annotationsLoaded = useRef(false);
  /** What was last loaded or saved, to tell whether the measurements have changed since. */
  const savedSignature = useRef("[]");

  // Study and its series (QIDO-RS).
  useEffect(() => {
    const controller = new AbortController();
    setStudy({ status: "loading" });
    Promise.all([api.findStudy(studyUid, controller.signal, dicomweb), api.listSeries(studyUid, controller.signal, dicomweb)])
      .then(([found, series]) => {
        const list = series.map(seriesInfo).sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
        setStudy({ status: "ok", value: { study: found, series: list } });
        setSelected((current) => current ?? defaultSeries(list)?.uid ?? null);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setStudy({ status: "error", error });
      });
    return () => controller.abort();
  }, [studyUid, dicomweb, attempt]);

  useEffect(() => {
    if (series) setSelected(series);
  }, [series]);

  useEffect(() => {
    onController?.(mounted);
  }, [mounted, onController]);

  // The Cornerstone viewport lives as long as the page.
  useEffect(() => {
    const element = elementRef.current;
    if (!element) return;
    const controller = new StackController(element, {
      onSlice: (index, count) => setSlice({ index, count }),
      onVoi: setVoi,
      onInvert: setInverted,
      onCine: setCine,
      onAnnotations: () => {
        setAnnotationCount(controller.measurements().length);
        setDirty(signature(controller) !== savedSignature.current);
      },
    });
    controllerRef.current = controller;
    let alive = true;
    controller
      .mount()
      .then(() => {
        if (alive) setMounted(controller);
      })
      .catch((error: unknown) => {
        if (!alive) return;
        setViewError(error);
        setViewState("error");
      });
    window.__viewer = {
      imageIndex: () => controller.imageIndex(),
      voi: () => controller.voi(),
      imageCount: () => controller.imageCount(),
      annotationCount: () => controller.measurements().length,
    };
    return () => {
      alive = false;
      controller.destroy();
      controllerRef.current = null;
      setMounted(null);
      delete window.__viewer;
    };
  }, []);

  // Load the selected series: metadata (WADO-RS), preview JPEG at once, then full-fidelity frames.
  useEffect(() => {
    if (!mounted || !selected) return;
    const abort = new AbortController();
    let current = true;
    setViewState("loading");
    setViewError(null);
    setFrames([]);
    setSlice({ index: 0, count: 0 });
    (async () => {
      const metadata = await api.seriesMetadata(studyUid, selected, abort.signal, dicomweb);
      if (!current) return;
      const ordered = orderFrames(metadata);
      if (ordered.length === 0) throw new EmptySeriesError();
      setFrames(ordered);
      setSlice({ index: 0, count: ordered.length });
      const first = ordered[0];
      setPreview(
        `${api.dicomwebSeriesPath(studyUid, selected, dicomweb)}/instances/${encodeURIComponent(first.sopUid)}/rendered`,
      );
      const origin = window.location.origin;
      const imageIds = ordered.map((f) =>
        wadorsImageId(origin, { studyUid, seriesUid: selected, sopUid: f.sopUid, frame: f.frame }, dicomweb),
      );
      await mounted.showStack(
        imageIds,
        ordered.map((f) => f.instance),
        0,
      );
      if (!current) return;
      setPreview(null);
      setViewState("ready");
    })().catch((error: unknown) => {
      if (!current || abort.signal.aborted) return;
      setPreview(null);
      setViewError(error);
      setViewState("error");
    });
    return () => {
      current = false;
      abort.abort();
    };
  }, [mounted, selected, studyUid, dicomweb]);

  // Saved annotations: asked for at once, added once the first image is on screen.
  const [savedItems, setSavedItems] = useState<SavedAnnotation[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  useEffect(() => {
    if (!caseId || !user) return;
    const abort = new AbortController();
    api
      .listAnnotations(caseId, studyUid, abort.signal)
      .then(setSavedItems)
      .catch((error: unknown) => {
        if (!abort.signal.aborted) setLoadError(error);
      });
    return () => abort.abort();
  }, [caseId, studyUid, user]);

  useEffect(() => {
    if (!mounted || viewState !== "ready" || !savedItems || annotationsLoaded.current) return;
    annotationsLoaded.current = true;
    const origin = window.location.origin;
    const restored = savedItems
      .filter((item) => item.study_uid === studyUid)
      .map((item) =>
        fromSaved(
          item,
          wadorsImageId(origin, { studyUid, seriesUid: item.series_uid, sopUid: item.sop_uid, frame: item.frame || 1 }, dicomweb),
          !user || !isMine(item, user),
        ),
      )
      .filter((a) => a !== null);
    const before = signature(mounted);
    mounted.restore(restored);
    // Measurements drawn before the saved ones arrived still count as unsaved.
    if (before === "[]") savedSignature.current = signature(mounted);
    setDirty(signature(mounted) !== savedSignature.current);
  }, [mounted, viewState, savedItems, studyUid, user, dicomweb]);

  // Keyboard: ↑/↓ slices, PageUp/PageDown ±10, Home/End, Delete removes the selected measurement.
  useEffect(() => {
    if (!mounted) return;
    function onKey(event: KeyboardEvent) {
      const target = event.target as HTMLElement | null;
      if (target && (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName))) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const c = controllerRef.current;
      if (!c) return;
      const steps: Record<string, number> = { ArrowUp: -1, ArrowDown: 1, PageUp: -10, PageDown: 10 };
      if (event.key in steps) c.scrollBy(steps[event.key]);
      else if (event.key === "Home") c.scrollTo(0);
      else if (event.key === "End") c.scrollTo(c.imageCount() - 1);
      else if (event.key === "Delete" || event.key === "Backspace") c.deleteSelected();
      else return;
      event.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [mounted]);

  const chooseTool = useCallback((next: PrimaryTool) => {
    controllerRef.current?.setPrimaryTool(next);
    setTool(next);
  }, []);

  const toggleCine = useCallback(() => {
    const c = controllerRef.current;
    if (!c) return;
    if (cine) c.stopCine();
    else c.playCine(fps);
  }, [cine, fps]);

  const changeFps = useCallback(
    (value: number) => {
      setFps(value);
      if (cine) controllerRef.current?.playCine(value);
    },
    [cine],
  );

  const saveAnnotations = useCallback(async () => {
    const c = controllerRef.current;
    if (!c || !caseId) return;
    const items = c
      .measurements()
      .filter((a) => !a.isLocked)
      .map((a) => toSaved(a, studyUid))
      .filter((item) => item !== null);
    setSave({ status: "saving" });
    try {
      await api.saveAnnotations(caseId, items, studyUid);
      savedSignature.current = signature(c);
      setSave({ status: "saved", count: items.length });
      setDirty(false);
    } catch (error) {
      setSave({ status: "error", error });
    }
  }, [caseId, studyUid]);

  const info = study.status === "ok" ? study.value : null;
  const current = info?.series.find((s) => s.uid === selected);
  const frame = frames[slice.index];
  const position = slicePosition(frame);
  const isCT = (current?.modality ?? str(info?.study ?? undefined, TAG.modalitiesInStudy)) === "CT";
  const interactive = viewState === "ready";
  const patientName = str(info?.study ?? undefined, TAG.patientName) || (frame ? str(frame.instance, TAG.patientName) : "");
  const patientId = str(info?.study ?? undefined, TAG.patientId);
  const studyDate = formatDicomDate(str(info?.study ?? undefined, TAG.studyDate) || (frame ? str(frame.instance, TAG.studyDate) : ""));
  const studyDescription = str(info?.study ?? undefined, TAG.studyDescription);
  const thickness = frame ? num(frame.instance, "00180050") : null;
  const instanceNumber = frame ? num(frame.instance, TAG.instanceNumber) : null;

  const statusText = useMemo(() => {
    if (viewState === "ready") return t("viewer.state.ready");
    if (viewState === "error")
      return viewError instanceof EmptySeriesError
        ? t("viewer.emptySeries")
        : t("viewer.state.error", { message: errorMessage(viewError, t) });
    if (viewState === "loading") return t("viewer.state.loading");
    return t("viewer.state.idle");
  }, [viewState, viewError, t]);

  return (
    <div className="viewer" data-testid="viewer" data-study-uid={studyUid}>
      <aside className="viewer-side" aria-label={t("viewer.seriesList")}>
        <div className="viewer-side-head">
          {head}
          <h1 className="viewer-study-title" data-testid="page-title">
            {studyDescription || t("viewer.title")}
          </h1>
          {info ? (
            <p className="viewer-study-meta">
              {patientName || t("common.none")} · {studyDate || t("common.none")}
            </p>
          ) : null}
        </div>
        {study.status === "loading" ? (
          <p className="loading viewer-side-note" role="status">
            {t("common.loading")}
          </p>
        ) : study.status === "error" ? (
          <div className="viewer-side-note" role="alert">
            <p>{t("viewer.studyError", { message: errorMessage(study.error, t) })}</p>
            <button type="button" className="btn btn-secondary" onClick={() => setAttempt((n) => n + 1)}>
              {t("common.retry")}
            </button>
          </div>
        ) : study.value.series.length === 0 ? (
          <p className="viewer-side-note">{t("viewer.noSeries")}</p>
        ) : (
          <ul className="series-list" data-testid="series-list">
            {study.value.series.map((s) => (
              <li key={s.uid}>
                <button
                  type="button"
                  className={s.uid === selected ? "series-item active" : "series-item"}
                  data-testid="series-item"
                  data-series-uid={s.uid}
                  aria-pressed={s.uid === selected}
                  onClick={() => {
                    setSelected(s.uid);
                    onSeriesChange?.(s.uid);
                  }}
                >
                  <SeriesThumb url={`${api.dicomwebSeriesPath(studyUid, s.uid, dicomweb)}/thumbnail`} modality={s.modality} />
                  <span className="series-text">
                    <span className="series-desc">{s.description || t("viewer.noDescription")}</span>
                    <span className="series-meta">
                      <span className="series-modality">{s.modality || "?"}</span>
                      {s.number !== null ? <span>{t("viewer.seriesNumber", { number: s.number })}</span> : null}
                      <span>{t("viewer.imageCount", { count: s.count })}</span>
                    </span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </aside>

      <section className="viewer-main">
        <div className="viewer-toolbar" role="toolbar" aria-label={t("viewer.toolbar")}>
          <div className="tool-group" aria-label={t("viewer.groups.tools")}>
            {TOOL_ORDER.map((name) => (
              <button
                key={name}
                type="button"
                className={tool === name ? "tool-btn active" : "tool-btn"}
                data-testid={`tool-${name}`}
                aria-pressed={tool === name}
                title={t(`viewer.toolHelp.${name}`)}
                onClick={() => chooseTool(name)}
                disabled={!mounted}
              >
                {t(`viewer.tools.${name}`)}
              </button>
            ))}
          </div>
          <div className="tool-group" aria-label={t("viewer.groups.window")}>
            {(Object.keys(PRESETS) as PresetName[]).map((name) => (
              <button
                key={name}
                type="button"
                className="tool-btn"
                data-testid={`preset-${name}`}
                title={t("viewer.presetHelp", { center: PRESETS[name].center, width: PRESETS[name].width })}
                onClick={() => controllerRef.current?.setWindow(PRESETS[name].center, PRESETS[name].width)}
                disabled={!interactive || !isCT}
              >
                {t(`viewer.presets.${name}`)}
              </button>
            ))}
            <button
              type="button"
              className={inverted ? "tool-btn active" : "tool-btn"}
              data-testid="invert"
              aria-pressed={inverted}
              onClick={() => controllerRef.current?.toggleInvert()}
              disabled={!interactive}
            >
              {t("viewer.invert")}
            </button>
            <button
              type="button"
              className="tool-btn"
              data-testid="viewer-reset"
              title={t("viewer.resetHelp")}
              onClick={() => controllerRef.current?.reset()}
              disabled={!interactive}
            >
              {t("viewer.reset")}
            </button>
          </div>
          <div className="tool-group" aria-label={t("viewer.groups.cine")}>
            <button
              type="button"
              className={cine ? "tool-btn active" : "tool-btn"}
              data-testid="cine-toggle"
              data-playing={cine}
              aria-pressed={cine}
              onClick={toggleCine}
              disabled={!interactive || slice.count < 2}
            >
              {cine ? t("viewer.cine.pause") : t("viewer.cine.play")}
            </button>
            <label className="tool-fps">
              <span className="visually-hidden">{t("viewer.cine.fps")}</span>
              <select
                value={fps}
                data-testid="cine-fps"
                aria-label={t("viewer.cine.fps")}
                onChange={(e) => changeFps(Number(e.target.value))}
                disabled={!interactive || slice.count < 2}
              >
                {FPS_CHOICES.map((value) => (
                  <option key={value} value={value}>
                    {t("viewer.cine.fpsValue", { fps: value })}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <div className="tool-group tool-group-end" aria-label={t("viewer.groups.annotations")}>
            <span className="annotation-count" data-testid="annotation-count" data-count={annotationCount}>
              {t("viewer.annotations.count", { count: annotationCount })}
            </span>
            <button
              type="button"
              className="tool-btn"
              data-testid="delete-annotation"
              title={t("viewer.annotations.deleteHelp")}
              onClick={() => controllerRef.current?.deleteSelected()}
              disabled={!interactive || annotationCount === 0}
            >
              {t("viewer.annotations.delete")}
            </button>
            {user ? (
              <button
                type="button"
                className="btn btn-primary btn-small"
                data-testid="save-annotations"
                onClick={() => void saveAnnotations()}
                disabled={!interactive || !caseId || save.status === "saving"}
                title={caseId ? undefined : t("viewer.annotations.noCase")}
              >
                {save.status === "saving" ? t("viewer.annotations.saving") : t("viewer.annotations.save")}
                {dirty && caseId ? <span className="dirty-dot" aria-label={t("viewer.annotations.unsaved")} /> : null}
              </button>
            ) : null}
          </div>
        </div>

        <div className="viewer-stage">
          <div
            ref={elementRef}
            className="viewer-viewport"
            data-testid="viewer-viewport"
            data-tool={tool}
            aria-label={t("viewer.viewportLabel")}
            role="img"
          />
          {overlay}
          {preview ? (
            <img
              className="viewer-preview"
              data-testid="viewer-preview"
              src={preview}
              alt=""
              onError={() => setPreview(null)}
            />
          ) : null}
          <div className="overlay overlay-tl" data-testid="overlay-patient">
            <div className="overlay-strong">{patientName}</div>
            {patientId ? <div>{t("viewer.overlay.patientId", { id: patientId })}</div> : null}
            {studyDate ? <div>{t("viewer.overlay.studyDate", { date: studyDate })}</div> : null}
            {studyDescription ? <div>{studyDescription}</div> : null}
          </div>
          <div className="overlay overlay-tr" data-testid="overlay-series">
            {current ? (
              <>
                <div className="overlay-strong">{current.description || t("viewer.noDescription")}</div>
                <div>
                  {current.modality}
                  {current.number !== null ? ` · ${t("viewer.seriesNumber", { number: current.number })}` : ""}
                </div>
              </>
            ) : null}
          </div>
          <div className="overlay overlay-bl">
            <div>
              {t("viewer.overlay.slice")}{" "}
              <span data-testid="slice-counter">{slice.count ? `${slice.index + 1} / ${slice.count}` : "– / –"}</span>
            </div>
            {instanceNumber !== null ? <div>{t("viewer.overlay.instance", { number: instanceNumber })}</div> : null}
            {position !== null ? (
              <div data-testid="slice-position">{t("viewer.overlay.position", { mm: position.toFixed(1) })}</div>
            ) : null}
            {thickness !== null ? <div>{t("viewer.overlay.thickness", { mm: thickness.toFixed(1) })}</div> : null}
          </div>
          <div className="overlay overlay-br">
            <div data-testid="wl-overlay">{windowText(voi)}</div>
            {inverted ? <div>{t("viewer.overlay.inverted")}</div> : null}
          </div>
          {viewState === "error" ? (
            <div className="viewer-stage-message" role="alert">
              {statusText}
            </div>
          ) : null}
        </div>

        <div className="viewer-statusbar">
          <span className={`viewer-status viewer-status-${viewState}`} data-testid="viewer-status" data-state={viewState}>
            {statusText}
          </span>
          <span className="viewer-hint">{t("viewer.hint")}</span>
          {loadError ? (
            <span className="save-status save-error" data-testid="annotations-load-error" role="alert">
              {t("viewer.annotations.loadError", { message: errorMessage(loadError, t) })}
            </span>
          ) : null}
          {save.status === "saved" ? (
            <span className="save-status" data-testid="save-status" data-state="saved">
              {t("viewer.annotations.saved", { count: save.count ?? 0 })}
            </span>
          ) : save.status === "error" ? (
            <span className="save-status save-error" data-testid="save-status" data-state="error" role="alert">
              {t("viewer.annotations.saveError", { message: errorMessage(save.error, t) })}
            </span>
          ) : null}
        </div>
      </section>
    </div>
  );
}
