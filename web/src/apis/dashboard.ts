// The community administrator's dashboard (server/api/dashboard.py, definitions in docs/indicators.md).

import { request } from "../api";
import type { Dashboard } from "../schema";

export type { Dashboard, Indicator } from "../schema";

export async function getDashboard(month: string, signal?: AbortSignal): Promise<Dashboard> {
  return request<Dashboard>("GET", `/api/dashboard?month=${encodeURIComponent(month)}`, { signal });
}

export function dashboardCsvPath(month: string): string {
  return `/api/dashboard.csv?month=${encodeURIComponent(month)}`;
}
