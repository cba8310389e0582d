// A case's ECGs (server/api/ecg.py): list, one record with its measurements, the samples in µV for the
// viewer, the worker-rendered page, and the upload of an ECG file as the raw request body.

import { postFile, request } from "../api";
import type { Ecg, EcgDetail, Ecgs, EcgSamples, StoredEcg } from "../schema";

export type { Ecg, EcgDetail, EcgMeasurements, EcgSamples, StoredEcg } from "../schema";

/**
 * A number among the free-form values the document declares as objects (`filters`, the automated
 * measurements, the device's measurements), or null when it is absent or not a number.
 */
export function numberIn(values: Record<string, unknown> | null | undefined, key: string): number | null {
  const value = values?.[key];
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

const ecgPath = (ecgId: number | string) => `/api/ecgs/${encodeURIComponent(String(ecgId))}`;

export async function listCaseEcgs(caseId: number | string, signal?: AbortSignal): Promise<Ecg[]> {
  const data = await request<Ecgs>("GET", `/api/cases/${encodeURIComponent(String(caseId))}/ecgs`, { signal });
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
export function uploadEcg(caseId: number | string, file: File): Promise<StoredEcg> {
  return postFile(`/api/cases/${encodeURIComponent(String(caseId))}/ecgs`, file);
}
