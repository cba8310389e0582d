// A case's ECGs (server/api/ecg.py): list, one record with its measurements, the samples in µV for the
// viewer, the worker-rendered page, and the upload of an ECG file as the raw request body.

import { postFile, request } from "../api";

export interface EcgFilters {
  highpass_hz: number | null;
  lowpass_hz: number | null;
  notch_hz: number | null;
}

export interface Ecg {
  id: number;
  case_id: number;
  filename: string;
  format: string;
  format_name: string;
  leads: string[];
  sampling_rate: number;
  duration_s: number;
  acquired_at: string | null;
  device: string;
  filters: Partial<EcgFilters>;
  render_state: "pending" | "ready" | "failed" | string;
  render_error: string | null;
  created_at: string;
}

/** Computed on the platform (neurokit2), labelled with its method; values not found are null. */
export interface AutomatedMeasurements {
  source: "automated";
  method: string;
  lead: string;
  beats: number;
  heart_rate_bpm: number | null;
  rr_ms: number | null;
  pr_ms: number | null;
  qrs_ms: number | null;
  qt_ms: number | null;
  qtc_bazett_ms: number | null;
  qtc_fridericia_ms: number | null;
  qrs_axis_deg: number | null;
}

export interface EcgMeasurements {
  automated: AutomatedMeasurements | null;
  device: { measurements: Record<string, number>; statements: string[] };
}

export interface EcgDetail extends Ecg {
  measurements: EcgMeasurements;
}

export interface EcgSamples {
  id: number;
  units: "uV";
  sampling_rate: number;
  leads: Record<string, number[]>;
  derived_leads: string[];
}

const ecgPath = (ecgId: number | string) => `/api/ecgs/${encodeURIComponent(String(ecgId))}`;

export async function listCaseEcgs(caseId: number | string, signal?: AbortSignal): Promise<Ecg[]> {
  const data = await request<{ items: Ecg[] }>("GET", `/api/cases/${encodeURIComponent(String(caseId))}/ecgs`, { signal });
  return data.items ?? [];
}

export function getEcg(ecgId: number | string, signal?: AbortSignal): Promise<EcgDetail> {
  return request<EcgDetail>("GET", ecgPath(ecgId), { signal });
}

/** The viewer needs no more than 500 Hz on screen; the server low-passes before it decimates. `base`: the
 * record's path (the shared viewer is given it). */
export function ecgSamples(ecgId: number | string, signal?: AbortSignal, rate = 500, base = ecgPath(ecgId)): Promise<EcgSamples> {
  return request<EcgSamples>("GET", `${base}/samples?rate=${rate}`, { signal });
}

export function ecgPageUrl(ecgId: number | string, format: "png" | "pdf"): string {
  return `${ecgPath(ecgId)}/page.${format}`;
}

/** The file goes as the raw body; the server recognises its format. */
export function uploadEcg(caseId: number | string, file: File): Promise<Ecg & { status: string }> {
  return postFile(`/api/cases/${encodeURIComponent(String(caseId))}/ecgs`, file);
}
