// The ECG viewer (/cases/:caseId/ecgs/:ecgId): the record drawn on true-scale paper (1 mm / 5 mm grid at
// the calibrated px per mm, 25 mm/s and 10 mm/mV by default), the 3×4 layout with a lead II rhythm strip
// or one lead enlarged, zoom, calipers (interval in ms, amplitude in mV), the automated and the device's
// measurements apart, and for the reader holding the case a button that copies the automated values into
// the report draft. `window.__ecgViewer` is a read-only test hook (web/README.md).

import { useEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { getCase, listReports, saveReportDraft } from "../api";
import { ecgSamples, getEcg, numberIn, type EcgDetail, type EcgMeasurements as Measurements, type EcgSamples } from "../apis/ecg";
import { formatDateTime } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { clearPxPerMm, DEFAULT_PX_PER_MM, savePxPerMm, storedPxPerMm } from "../ecg/calibration";
import { drawPaper } from "../ecg/draw";
import { caliper, GAINS, paperLayout, SPEEDS, ZOOMS, type PaperLayout } from "../ecg/layout";
import type { PageDef } from "../routes";
import type { CaseDetail, ReportContent } from "../types";
import CalibrationPanel from "../components/ecg/CalibrationPanel";
import EcgMeasurements from "../components/ecg/EcgMeasurements";
import PageHeader from "../components/PageHeader";

type Point = { x: number; y: number };
type CaliperResult = { intervalMs: number; amplitudeMv: number };

interface EcgViewerTestApi {
  pxPerMm(): number;
  calibrated(): boolean;
  zoom(): number;
  speed(): number;
  gain(): number;
  lead(): string | null;
  /** Grid geometry in CSS px, relative to the canvas's top left. */
  grid(): { minorPx: number; majorPx: number; widthPx: number; heightPx: number };
  /** The long strip (lead II, or the single lead): where its first sample is drawn, CSS px in the canvas. */
  strip(): { lead: string; x0: number; baselineY: number; startS: number };
  lastCaliper(): CaliperResult | null;
}

declare global {
  interface Window {
    __ecgViewer?: EcgViewerTestApi;
  }
}

function filterLabel(filters: EcgDetail["filters"]): string | null {
  const parts: string[] = [];
  const [highpass, lowpass, notch] = [numberIn(filters, "highpass_hz"), numberIn(filters, "lowpass_hz"), numberIn(filters, "notch_hz")];
  if (highpass != null || lowpass != null) parts.push(`${highpass ?? "?"}–${lowpass ?? "?"} Hz`);
  if (notch) parts.push(`notch ${notch} Hz`);
  return parts.length ? parts.join(", ") : null;
}

type Automated = NonNullable<Measurements["automated"]>;

/** The report fields of the ECG template filled from the automated values (QTc by Bazett). */
function reportValues(automated: Automated): ReportContent {
  const pairs: [string, number | null][] = [
    ["heart_rate", numberIn(automated, "heart_rate_bpm")],
    ["pr_ms", numberIn(automated, "pr_ms")],
    ["qrs_ms", numberIn(automated, "qrs_ms")],
    ["qt_ms", numberIn(automated, "qt_ms")],
    ["qtc_ms", numberIn(automated, "qtc_bazett_ms")],
    ["axis_deg", numberIn(automated, "qrs_axis_deg")],
  ];
  return Object.fromEntries(pairs.filter(([, v]) => v !== null).map(([k, v]) => [k, Math.round(v as number)]));
}

function CopyToReport({ detail, automated }: { detail: CaseDetail; automated: Automated | null }) {
  const { t } = useTranslation();
  const [state, setState] = useState<{ kind: "idle" | "busy" | "done" } | { kind: "error"; message: string }>({ kind: "idle" });
  if (!detail.actions.includes("write_report") || !automated) return null;
  async function copy() {
    setState({ kind: "busy" });
    try {
      const latest = (await listReports(detail.id)).at(-1);
      const base = latest?.status === "draft" ? latest.content : {};
      await saveReportDraft(detail.id, { ...base, ...reportValues(automated!) });
      setState({ kind: "done" });
    } catch (err) {
      setState({ kind: "error", message: errorMessage(err, t) });
    }
  }
  return (
    <p className="ecg-copy">
      <button type="button" className="btn btn-primary" data-testid="ecg-copy-to-report" disabled={state.kind === "busy"} onClick={() => void copy()}>
        {t("ecg.copyToReport")}
      </button>{" "}
      {state.kind === "done" ? (
        <span className="form-ok" data-testid="ecg-copied">
          {t("ecg.copied")} <Link to={`/cases/${detail.id}`}>{t("ecg.toReport")}</Link>
        </span>
      ) : state.kind === "error" ? (
        <span className="form-error" role="alert" data-testid="ecg-copy-error">
          {state.message}
        </span>
      ) : (
        <span className="text-muted">{t("ecg.copyHint")}</span>
      )}
    </p>
  );
}

/** The paper and its controls; `zoom` given (the shared viewer), the zoom is the caller's, changes go to `onZoomChange`. */
export function Paper({
  samples,
  pxPerMm,
  calibrated,
  zoom: sharedZoom,
  onZoomChange,
}: {
  samples: EcgSamples;
  pxPerMm: number;
  calibrated: boolean;
  zoom?: number;
  onZoomChange?: (zoom: number) => void;
}) {
  const { t } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [speed, setSpeed] = useState<number>(25);
  const [gain, setGain] = useState<number>(10);
  const [ownZoom, setOwnZoom] = useState<number>(1);
  const zoom = sharedZoom ?? ownZoom;
  const setZoom = (value: number) => {
    setOwnZoom(value);
    onZoomChange?.(value);
  };
  const [lead, setLead] = useState<string | null>(null);
  const [points, setPoints] = useState<Point[]>([]);
  const leads = Object.keys(samples.leads);
  const durationS = Math.max(...Object.values(samples.leads).map((v) => v.length)) / samples.sampling_rate;
  const layout: PaperLayout = useMemo(() => paperLayout(leads, durationS, speed, gain, lead), [samples, speed, gain, lead]);
  const scale = pxPerMm * zoom;
  const result = points.length === 2 ? caliper(points[0], points[1], scale, speed, gain) : null;

  // A new scale invalidates marks made at the old one.
  useEffect(() => setPoints([]), [speed, gain, zoom, lead, pxPerMm]);

  useEffect(() => {
    if (canvas.current) drawPaper(canvas.current, { layout, leads: samples.leads, samplingRate: samples.sampling_rate, scale, speed, gain, caliperPoints: points });
  }, [layout, samples, scale, points]);

  const latest = useRef({ pxPerMm, calibrated, zoom, speed, gain, lead, layout, scale, result });
  latest.current = { pxPerMm, calibrated, zoom, speed, gain, lead, layout, scale, result };
  useEffect(() => {
    const now = () => latest.current;
    window.__ecgViewer = {
      pxPerMm: () => now().pxPerMm,
      calibrated: () => now().calibrated,
      zoom: () => now().zoom,
      speed: () => now().speed,
      gain: () => now().gain,
      lead: () => now().lead,
      grid: () => ({ minorPx: now().scale, majorPx: 5 * now().scale, widthPx: now().layout.widthMm * now().scale, heightPx: now().layout.heightMm * now().scale }),
      strip: () => {
        const { strip } = now().layout;
        return { lead: strip.lead, x0: strip.xMm * now().scale, baselineY: strip.baselineMm * now().scale, startS: strip.start };
      },
      lastCaliper: () => now().result,
    };
    return () => {
      delete window.__ecgViewer;
    };
  }, []);

  function onClick(event: MouseEvent<HTMLCanvasElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    const point = { x: event.clientX - box.left, y: event.clientY - box.top };
    setPoints((previous) => (previous.length === 1 ? [previous[0], point] : [point]));
  }

  return (
    <>
      <div className="ecg-toolbar" data-testid="ecg-toolbar">
        <div className="btn-group" role="group" aria-label={t("ecg.speed")}>
          <span className="field-label">{t("ecg.speed")}</span>
          {SPEEDS.map((value) => (
            <button key={value} type="button" className={`btn btn-small ${value === speed ? "btn-primary" : "btn-secondary"}`} aria-pressed={value === speed} data-testid={`ecg-speed-${value}`} onClick={() => setSpeed(value)}>
              {value} mm/s
            </button>
          ))}
        </div>
        <div className="btn-group" role="group" aria-label={t("ecg.gain")}>
          <span className="field-label">{t("ecg.gain")}</span>
          {GAINS.map((value) => (
            <button key={value} type="button" className={`btn btn-small ${value === gain ? "btn-primary" : "btn-secondary"}`} aria-pressed={value === gain} data-testid={`ecg-gain-${value}`} onClick={() => setGain(value)}>
              {value} mm/mV
            </button>
          ))}
        </div>
        <label className="ecg-select">
          <span className="field-label">{t("ecg.lead")}</span>
          <select data-testid="ecg-lead" value={lead ?? ""} onChange={(e) => setLead(e.target.value || null)}>
            <option value="">{t("ecg.allLeads")}</option>
            {leads.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label className="ecg-select">
          <span className="field-label">{t("ecg.zoom")}</span>
          <select data-testid="ecg-zoom" value={zoom} onChange={(e) => setZoom(Number(e.target.value))}>
            {ZOOMS.map((value) => (
              <option key={value} value={value}>
                ×{value}
              </option>
            ))}
          </select>
        </label>
        <span className={`badge ${zoom === 1 ? "badge-ok" : "badge-overdue"}`} data-testid="ecg-scale-state" data-true-scale={zoom === 1 && calibrated}>
          {zoom !== 1 ? t("ecg.zoomed", { zoom }) : calibrated ? t("ecg.trueScale") : t("ecg.uncalibrated")}
        </span>
      </div>
      <p className="text-muted" data-testid="ecg-scale-line">
        {t("ecg.scaleLine", { speed, gain, perMm: pxPerMm.toFixed(3) })}
      </p>
      <div className="ecg-paper-scroll">
        <canvas ref={canvas} className="ecg-paper" data-testid="ecg-canvas" onClick={onClick} aria-label={t("ecg.canvasLabel")} />
      </div>
      <div className="ecg-caliper" data-testid="ecg-caliper">
        <span className="field-label">{t("ecg.caliper")}</span>{" "}
        {result ? (
          <span data-testid="ecg-caliper-result" data-interval-ms={result.intervalMs} data-amplitude-mv={result.amplitudeMv}>
            {t("ecg.caliperResult", {
              ms: Math.round(result.intervalMs),
              bpm: result.intervalMs > 0 ? Math.round(60000 / result.intervalMs) : "—",
              mv: result.amplitudeMv.toFixed(2),
            })}
          </span>
        ) : (
          <span className="text-muted">{points.length === 1 ? t("ecg.caliperSecond") : t("ecg.caliperHint")}</span>
        )}{" "}
        {points.length > 0 ? (
          <button type="button" className="btn btn-ghost btn-small" data-testid="ecg-caliper-clear" onClick={() => setPoints([])}>
            {t("ecg.caliperClear")}
          </button>
        ) : null}
      </div>
    </>
  );
}

export default function EcgViewerPage(_props: { page: PageDef }) {
  const { t, i18n } = useTranslation();
  const { caseId: rawCase = "", ecgId: rawEcg = "" } = useParams();
  const caseId = Number(rawCase);
  const ecgId = Number(rawEcg);
  const [record] = useLoad((signal) => getEcg(ecgId, signal), [ecgId]);
  const [samples] = useLoad((signal) => ecgSamples(ecgId, signal), [ecgId]);
  const [detail] = useLoad((signal) => getCase(caseId, signal), [caseId]);
  const [stored, setStored] = useState<number | null>(() => storedPxPerMm());
  const [calibrating, setCalibrating] = useState(false);
  const pxPerMm = stored ?? DEFAULT_PX_PER_MM;

  const back = (
    <Link to={`/cases/${caseId}`} className="btn btn-secondary">
      {t("ecg.backToCase")}
    </Link>
  );
  const failed = [record, samples].find((load) => load.status === "error");
  if (failed && failed.status === "error") {
    return (
      <div className="page">
        <PageHeader title={t("nav.ecgViewer")} actions={back} />
        <p className="form-error" role="alert" data-testid="ecg-viewer-status" data-state="error">
          {t("ecg.loadError", { message: errorMessage(failed.error, t) })}
        </p>
      </div>
    );
  }
  if (record.status !== "ok" || samples.status !== "ok") {
    return (
      <div className="page">
        <PageHeader title={t("nav.ecgViewer")} actions={back} />
        <p className="loading" role="status" data-testid="ecg-viewer-status" data-state="loading">
          {t("common.loading")}
        </p>
      </div>
    );
  }
  const ecg = record.data;
  if (ecg.case_id !== caseId) {
    return (
      <div className="page">
        <PageHeader title={t("nav.ecgViewer")} actions={back} />
        <p className="form-error" role="alert" data-testid="ecg-viewer-status" data-state="error">
          {t("ecg.otherCase")}
        </p>
      </div>
    );
  }
  return (
    <div className="page ecg-viewer" data-testid="ecg-viewer" data-ecg-id={ecg.id}>
      <PageHeader title={t("ecg.viewerTitle", { id: ecg.id, caseId })} actions={back} />
      <p className="ecg-record-line" data-testid="ecg-record-line">
        {[
          ecg.format_name,
          t("ecg.leadCount", { count: ecg.leads.length }),
          `${ecg.sampling_rate} Hz`,
          `${ecg.duration_s.toFixed(1)} s`,
          ecg.device || t("ecg.noDevice"),
          ecg.acquired_at ? formatDateTime(ecg.acquired_at, i18n.language) : null,
        ]
          .filter(Boolean)
          .join(" · ")}
      </p>
      <p data-testid="ecg-filters">
        <span className="field-label">{t("ecg.filters")}</span> {filterLabel(ecg.filters) ?? t("ecg.filtersNotStated")}
        {samples.data.derived_leads.length ? <span className="text-muted"> · {t("ecg.derived", { leads: samples.data.derived_leads.join(", ") })}</span> : null}
      </p>
      <p>
        <button type="button" className="btn btn-secondary btn-small" data-testid="ecg-calibrate" onClick={() => setCalibrating(true)}>
          {stored === null ? t("ecg.calibrate") : t("ecg.recalibrate")}
        </button>
      </p>
      {calibrating ? (
        <CalibrationPanel
          pxPerMm={pxPerMm}
          onSave={(value) => {
            savePxPerMm(value);
            setStored(value);
            setCalibrating(false);
          }}
          onReset={() => {
            clearPxPerMm();
            setStored(null);
          }}
          onClose={() => setCalibrating(false)}
        />
      ) : null}
      <div data-testid="ecg-viewer-status" data-state="ready" hidden />
      <Paper samples={samples.data} pxPerMm={pxPerMm} calibrated={stored !== null} />
      <EcgMeasurements measurements={ecg.measurements} />
      {detail.status === "ok" ? <CopyToReport detail={detail.data} automated={ecg.measurements.automated} /> : null}
    </div>
  );
}
