// The community administrator's dashboard (server/api/dashboard.py, definitions in docs/indicators.md).

import { request } from "../api";

/** A text in both languages, keyed by locale. */
export type Bilingual = { "zh-CN": string; en: string };

export type IndicatorUnit = "count" | "percent" | "minutes" | "person_times" | "person_days";

export interface Point {
  key: string;
  label: string;
  value: number | null;
  /** The records behind a rate (its denominator), when the point is one. */
  count: number | null;
}

export interface Indicator {
  key: string;
  name: Bilingual;
  definition: Bilingual;
  unit: IndicatorUnit | string;
  /** Null when there is nothing to count this month (a rate without denominator). */
  value: number | null;
  /** A rate's aim, reached at or above it. */
  target: number | null;
  numerator: number | null;
  denominator: number | null;
  series: { key: string; name: Bilingual; points: Point[] }[];
}

export interface Dashboard {
  month: string;
  timezone: string;
  community: { id: number; name: string };
  indicators: Indicator[];
}

export async function getDashboard(month: string, signal?: AbortSignal): Promise<Dashboard> {
  return request<Dashboard>("GET", `/api/dashboard?month=${encodeURIComponent(month)}`, { signal });
}

export function dashboardCsvPath(month: string): string {
  return `/api/dashboard.csv?month=${encodeURIComponent(month)}`;
}
