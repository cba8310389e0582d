// Who is who (server/api/directory.py): colleagues to assign or consult, and the clinic's own patients.

import { request } from "../api";
import type { ColleagueList, DirectoryColleague, PatientList, PatientSummary } from "../schema";
import type { Role } from "../types";

export type { PatientSummary } from "../schema";

/** The roles the directory lists (its `role` filter). */
export type PickableRole = Extract<Role, "reader" | "expert">;

/** An active reader or expert of the caller's medical community. */
export type Colleague = DirectoryColleague;

export async function listColleagues(role: PickableRole, centreId?: number | null, signal?: AbortSignal): Promise<Colleague[]> {
  const params = new URLSearchParams({ role });
  if (centreId) params.set("centre_id", String(centreId));
  const data = await request<ColleagueList>("GET", `/api/directory/colleagues?${params}`, { signal });
  return data.items ?? [];
}

/** The caller's institution's patients whose name starts with, or whose ID or health card ends with, `q`. */
export async function searchPatients(q: string, signal?: AbortSignal): Promise<PatientSummary[]> {
  const data = await request<PatientList>("GET", `/api/patients?q=${encodeURIComponent(q)}`, { signal });
  return data.items ?? [];
}
