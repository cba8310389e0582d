// Shapes of the JSON the API returns. Keep in step with server/api.

export const ROLES = [
  "requester",
  "reader",
  "dispatcher",
  "expert",
  "trainee",
  "admin",
  "auditor",
] as const;
export type Role = (typeof ROLES)[number];

export const TIERS = [
  "village_clinic",
  "township_centre",
  "county_hospital",
  "tertiary_hospital",
] as const;
export type Tier = (typeof TIERS)[number];

export type CentreKind = "imaging" | "ecg" | "pathology";

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  institution: { id: number; name: string; tier: Tier } | null;
  community: { id: number; name: string } | null;
  centre: { id: number; name: string; kind: CentreKind } | null;
}

export interface Session {
  user: User;
  csrf_token: string;
}

export const CASE_KINDS = ["imaging", "ecg", "pathology", "consult", "mdt", "referral"] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

export const CASE_STATUSES = [
  "draft",
  "submitted",
  "queued",
  "assigned",
  "in_review",
  "reported",
  "closed",
  "returned",
  "escalated",
  "cancelled",
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export type Urgency = "routine" | "urgent";
export type Sex = "M" | "F" | "O";

export interface Case {
  id: number;
  kind: CaseKind;
  /** One of CASE_STATUSES; typed as string so an unknown new status still renders. */
  status: string;
  urgency: Urgency;
  clinical_question: string;
  patient: { id: number; name: string; sex: Sex | null; national_id_masked: string };
  institution: { id: number; name: string };
  created_at: string;
  /** Imaging studies, if the list carries them: a number or the studies themselves. */
  studies?: unknown[] | number;
  study_count?: number;
}

/** An imaging study attached to a case (GET /api/cases/{id}/studies). */
export interface CaseStudy {
  study_uid: string;
  description: string | null;
  study_date: string | null;
  modalities: string[];
  series_count: number;
  instance_count: number;
}

/** One saved viewer measurement (GET/POST /api/cases/{id}/annotations). */
export interface AnnotationInput {
  study_uid: string;
  series_uid: string;
  sop_uid: string;
  /** Frame number, from 1. */
  frame: number;
  /** Cornerstone tool name: Length, Angle, RectangleROI, EllipticalROI. */
  tool: string;
  /** The Cornerstone annotation's serialisable part (see src/viewer/annotations.ts). */
  data: Record<string, unknown>;
}

export interface Annotation extends AnnotationInput {
  id: number;
  /** Who drew it: the server may name the user by id, username, display name or an object. */
  author: string | number | { id: number; username?: string; display_name?: string } | null;
  created_at: string;
}

export function isKnown<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}
