// Shapes of the JSON the API returns and accepts, as the UI names them: every one is an alias of the
// types the web build generates from the server's OpenAPI document (src/generated/openapi.d.ts through
// src/schema.ts, `npm run api-types`), so a changed response shape fails the build. What is hand-written
// here is the UI's own: constant lists of enum members for menus and labels (each checked at build time
// to name every member of its generated union), and view-side helpers.

import type {
  CaseKind,
  CaseLifecycleAction,
  CaseStatus,
  NewPatientBody,
  NotificationKind,
  Role,
  ShareScope,
  Tier,
  WorklistSort,
} from "./schema";

export type {
  Annotation,
  AnnotationInput,
  CaseActionBody,
  CaseColleague,
  CaseDetail,
  CaseEvent,
  CaseKind,
  CasePatient,
  CaseStatus,
  CaseStudy,
  CaseSummary,
  CentreKind,
  CreatedShareLink,
  Notification,
  NotificationKind,
  Person,
  Report,
  ReportField,
  ReportStatus,
  ReportTemplate,
  Role,
  Session,
  SharedLinkInfo,
  ShareLink,
  ShareLinkInput,
  ShareScope,
  Tier,
  Urgency,
  User,
  WorklistItem,
  WorklistSort,
} from "./schema";

/** `values` as a constant list, checked at build time to name every member of the union `T`. */
export function allOf<T extends string>() {
  return <const A extends readonly T[]>(
    values: A & ([T] extends [A[number]] ? unknown : { missing: Exclude<T, A[number]> }),
  ): A => values;
}

export const ROLES = allOf<Role>()(["requester", "reader", "dispatcher", "expert", "trainee", "admin", "auditor"]);

export const TIERS = allOf<Tier>()(["village_clinic", "township_centre", "county_hospital", "tertiary_hospital"]);

export const CASE_KINDS = allOf<CaseKind>()(["imaging", "ecg", "pathology", "consult", "mdt", "referral"]);

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

/** A case as GET /api/cases lists it. */
export type { CaseSummary as Case } from "./schema";

/** read: view the study (metadata, frames, rendered images); download: also the original files. */
export const SHARE_SCOPES = allOf<ShareScope>()(["read", "download"]);

/** Patient sex as a new case's patient is registered (POST /api/cases). */
export type Sex = NonNullable<NewPatientBody["sex"]>;
/** The sexes the UI labels; answers carry `sex` as a plain string, shown raw when it is none of these. */
export const SEXES = allOf<Sex>()(["M", "F", "O"]);

// ---- the case workflow (server/cases, server/api/cases.py, case_actions.py, reports.py) ----

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
] as const satisfies readonly CaseLifecycleAction[];
export type CaseAction = (typeof CASE_ACTIONS)[number];

/** Every lifecycle step the server names: the user's actions, the platform's routing, "write_report". */
export const CASE_LIFECYCLE_ACTIONS = allOf<CaseLifecycleAction>()([...CASE_ACTIONS, "queue", "address", "write_report"]);

/** Every step a case's timeline may show: the lifecycle's steps and the overdue flag. */
export const CASE_EVENT_ACTIONS = [...CASE_LIFECYCLE_ACTIONS, "overdue"] as const;

export const WORKLIST_SORTS = allOf<WorklistSort>()(["urgency", "waiting", "created"]);

/**
 * The filters of GET /api/worklist. The OpenAPI document declares no query parameters for it, so this
 * one request shape stays hand-written; `sort` is the generated enum the answer echoes.
 */
export interface WorklistQuery {
  sort: WorklistSort;
  status?: string;
  kind?: string;
  urgency?: string;
  institution?: string;
  overdue?: boolean;
  mine?: boolean;
}

/** What the report editor builds from a template's fields (the API accepts any JSON values). */
export type ReportContent = Record<string, string | number>;

export const NOTIFICATION_KINDS = allOf<NotificationKind>()(["result_ready", "report_amended", "returned", "assigned", "escalated", "overdue"]);

/** A new case (POST /api/cases): an existing patient of the institution, or a new one. */
export type { CreateCaseBody as NewCaseInput } from "./schema";

export function isKnown<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}
