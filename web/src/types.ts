// Shapes of the JSON the API returns. Those the server's OpenAPI document describes are aliases of
// the types the web build generates from it (src/generated/openapi.d.ts, `npm run api-types`), so a
// changed response shape fails the build; the rest are still kept here by hand.

import type { components } from "./generated/openapi";

type Schemas = components["schemas"];

/** `values` as a constant list, checked at build time to name every member of the union `T`. */
function allOf<T extends string>() {
  return <const A extends readonly T[]>(
    values: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> }),
  ): A => values;
}

export type Role = Schemas["Role"];
export const ROLES = allOf<Role>()(["requester", "reader", "dispatcher", "expert", "trainee", "admin", "auditor"]);

export type Tier = Schemas["Tier"];
export const TIERS = allOf<Tier>()(["village_clinic", "township_centre", "county_hospital", "tertiary_hospital"]);

export type CentreKind = Schemas["CentreKind"];

export type User = Schemas["User"];

export type Session = Schemas["Session"];

export type CaseKind = Schemas["CaseKind"];
export const CASE_KINDS = allOf<CaseKind>()(["imaging", "ecg", "pathology", "consult", "mdt", "referral"]);

export type CaseStatus = Schemas["CaseStatus"];
export const CASE_STATUSES = allOf<CaseStatus>()([
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
]);

export type Urgency = Schemas["Urgency"];
export type Sex = "M" | "F" | "O";

export interface CasePatient {
  id: number;
  name: string;
  sex: Sex | null;
  birth_date?: string | null;
  national_id_masked: string;
}

/** A colleague as cases and reports name them (server `person_json`). */
export interface Person {
  id: number;
  display_name: string;
  role: Role;
}

export interface Case {
  id: number;
  kind: CaseKind;
  /** One of CASE_STATUSES; typed as string so an unknown new status still renders. */
  status: string;
  urgency: Urgency;
  clinical_question: string;
  patient: CasePatient;
  institution: { id: number; name: string };
  created_at: string;
  centre?: { id: number; name: string } | null;
  assigned_to?: Person | null;
  escalated_to?: Person | null;
  overdue?: boolean;
  submitted_at?: string | null;
  target_at?: string | null;
  reported_at?: string | null;
  /** Imaging studies, if the list carries them: a number or the studies themselves. */
  studies?: unknown[] | number;
  study_count?: number;
}

/** An imaging study attached to a case (GET /api/cases/{id}/studies). */
export type CaseStudy = Schemas["CaseStudy"];

/** One viewer measurement to save (POST /api/cases/{id}/annotations); `frame` from 1. */
export type AnnotationInput = Schemas["AnnotationInput"];

/** One saved viewer measurement (GET/POST /api/cases/{id}/annotations); `author` is a display name. */
export type Annotation = Schemas["Annotation"];

/** read: view the study (metadata, frames, rendered images); download: also the original files. */
export type ShareScope = Schemas["ShareScope"];
export const SHARE_SCOPES = allOf<ShareScope>()(["read", "download"]);

/** A share link of a case, as listed (GET /api/cases/{id}/share-links); the token is never listed. */
export type ShareLink = Schemas["ShareLink"];

/** A new share link (POST /api/cases/{id}/share-links): `expires_in_days` from 1 to 30. */
export type ShareLinkInput = Schemas["ShareLinkInput"];

/** The answer to creating a link: the only time its token is shown; `path` is "/share/<token>". */
export type CreatedShareLink = Schemas["CreatedShareLink"];

/** What an outside expert's page learns from the token (GET /share/{token}/link). */
export type SharedLinkInfo = Schemas["SharedLinkInfo"];

// ---- the case workflow (server/workflow.py, server/api/cases.py, case_actions.py, reports.py) ----

/** Actions a user takes through `POST /api/cases/{id}/actions/{action}` (routing is the platform's). */
export const CASE_ACTIONS = [
  "submit",
  "resubmit",
  "claim",
  "assign",
  "start_review",
  "return",
  "escalate",
  "answer",
  "sign",
  "amend",
  "close",
  "cancel",
] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

/** Every step a case's timeline may show: the user's actions, the platform's routing, the overdue flag. */
export const CASE_EVENT_ACTIONS = [...CASE_ACTIONS, "queue", "address", "write_report", "overdue"] as const;

/** A case with what the current user may do with it now (GET /api/cases/{id}, and every action's answer). */
export interface CaseDetail extends Case {
  /** Workflow actions open to this user now, "write_report" included; typed as string for new ones. */
  actions: string[];
  updated_at: string;
  claimed_at: string | null;
  closed_at: string | null;
  overdue_at: string | null;
}

/** A row of GET /api/worklist. */
export interface WorklistItem extends Case {
  waiting_seconds: number | null;
}

export const WORKLIST_SORTS = ["urgency", "waiting", "created"] as const;
export type WorklistSort = (typeof WORKLIST_SORTS)[number];

export interface WorklistQuery {
  sort: WorklistSort;
  status?: string;
  kind?: string;
  urgency?: string;
  institution?: string;
  overdue?: boolean;
  mine?: boolean;
}

/** One step of a case (GET /api/cases/{id}/events). */
export interface CaseEvent {
  id: number;
  case_id: number;
  action: string;
  from_status: string;
  to_status: string;
  /** Null when the platform took the step (routing, overdue flag). */
  actor: Person | null;
  at: string;
  note: string;
  detail: Record<string, unknown>;
}

/** A field of a report template (GET /api/report-templates/{kind}). */
export interface ReportField {
  key: string;
  label_zh: string;
  label_en: string;
  type: "text" | "number";
  required: boolean;
}

export interface ReportTemplate {
  kind: CaseKind;
  fields: ReportField[];
}

export type ReportContent = Record<string, string | number>;

/** One numbered version of a case's report (GET /api/cases/{id}/reports). */
export interface Report {
  id: number;
  version: number;
  status: "draft" | "signed";
  content: ReportContent;
  author: Person | null;
  signed_by: Person | null;
  signed_at: string | null;
  signed_institution: { id: number; name: string; tier: Tier } | null;
  amendment_reason: string | null;
  created_at: string;
}

export const NOTIFICATION_KINDS = ["result_ready", "report_amended", "returned", "assigned", "escalated", "overdue"] as const;

export interface Notification {
  id: number;
  /** One of NOTIFICATION_KINDS; typed as string so a new kind still renders. */
  kind: string;
  case: { id: number; kind: CaseKind; status: string };
  for_centre: boolean;
  created_at: string;
  read_at: string | null;
}

/** A new case (POST /api/cases): an existing patient of the institution, or a new one. */
export interface NewCaseInput {
  kind: CaseKind;
  urgency: Urgency;
  clinical_question: string;
  patient_id?: number;
  patient?: { name: string; sex?: Sex; birth_date?: string; national_id?: string };
}

export function isKnown<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}
