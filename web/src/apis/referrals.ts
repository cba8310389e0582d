// Two-way referral (server/api/referrals.py, referral_office.py) and the follow-up list (follow_up.py).

import { request } from "../api";
import type {
  ColourChangeIn,
  FollowUpDetail,
  FollowUpList,
  IdentityCheckIn,
  IdentityCheckResult,
  IdentityDocument,
  NoteCreated,
  ReferralAction,
  ReferralDownIn,
  ReferralList,
  ReferralNoteIn,
  ReferralNoteKind,
  ReferralRecord,
  ReferralState,
  ReferralStepIn,
  ReferralSummary,
  ReferralUpIn,
  Slot,
  SlotKind,
  SlotList,
  TriageColour,
} from "../schema";
import { allOf, isKnown } from "../types";

export type {
  ColourMeaning,
  FollowUpDetail,
  FollowUpEntry,
  FollowUpList,
  FollowUpPlanIn,
  IdentityDocument,
  ReferralAction,
  ReferralDownIn as ReferralDownInput,
  ReferralNote,
  ReferralNoteKind as NoteKind,
  ReferralRecord,
  ReferralState,
  ReferralStepIn,
  ReferralSummary,
  ReferralUpIn as ReferralUpInput,
  Slot,
  SlotKind,
  TieredInstitution,
  TriageColour,
} from "../schema";

export const REFERRAL_STATES = allOf<ReferralState>()([
  "sent",
  "received",
  "booked",
  "arrived",
  "admitted",
  "treated",
  "discharged",
  "closed",
  "declined",
  "cancelled",
]);
export const REFERRAL_ACTIONS = allOf<ReferralAction>()([
  "receive",
  "book",
  "decline",
  "arrive",
  "admit",
  "treat",
  "discharge",
  "refer_down",
  "close",
  "cancel",
]);
/**
 * 两免三优先: the two fees waived and the three priorities of a patient their family doctor refers up.
 * The document types `priority` as plain strings, so this list of the known flags is the UI's own.
 */
export const PRIORITY_FLAGS = ["no_registration_fee", "no_health_management_fee", "priority_visit", "priority_exam", "priority_admission"] as const;
export const SLOT_KINDS = allOf<SlotKind>()(["outpatient", "ct", "mri", "ultrasound", "endoscopy"]);
export const NOTE_KINDS = allOf<ReferralNoteKind>()(["treatment_plan", "record"]);
export const TRIAGE_COLOURS = allOf<TriageColour>()(["green", "yellow", "red"]);

/** A referral down's follow-up plan as the record shows it. */
export interface ShownFollowUpPlan {
  plan: string;
  due_dates: string[];
  colour: TriageColour | null;
}

/**
 * The follow-up plan of a record (the document types `follow_up_plan` as a free-form object: a referral
 * down's plan, `{}` going up), read field by field; null when there is no plan.
 */
export function followUpPlanOf(record: ReferralRecord): ShownFollowUpPlan | null {
  const { plan, due_dates: dates, colour } = record.follow_up_plan;
  if (typeof plan !== "string") return null;
  return {
    plan,
    due_dates: Array.isArray(dates) ? dates.filter((d): d is string => typeof d === "string") : [],
    colour: typeof colour === "string" && isKnown(TRIAGE_COLOURS, colour) ? colour : null,
  };
}

const path = (id: number, rest = "") => `/api/referrals/${id}${rest}`;

export async function listReferrals(box: "incoming" | "outgoing", signal?: AbortSignal): Promise<ReferralSummary[]> {
  return (await request<ReferralList>("GET", `/api/referrals?box=${box}`, { signal })).items ?? [];
}

export async function createReferral(input: ReferralUpIn): Promise<ReferralRecord> {
  return request<ReferralRecord>("POST", "/api/referrals", { body: input });
}

/** The record; 403 `identity_check_required` until this user has confirmed the patient's identity. */
export async function getReferral(id: number, signal?: AbortSignal): Promise<ReferralRecord> {
  return request<ReferralRecord>("GET", path(id), { signal });
}

export async function checkIdentity(id: number, document: IdentityDocument, number: string): Promise<IdentityCheckResult> {
  const body: IdentityCheckIn = { document, number };
  return request<IdentityCheckResult>("POST", path(id, "/identity-check"), { body });
}

export async function referralAction(id: number, action: Exclude<ReferralAction, "refer_down">, body: ReferralStepIn = {}): Promise<ReferralSummary> {
  return request<ReferralSummary>("POST", path(id, `/actions/${action}`), { body });
}

export async function addReferralNote(id: number, kind: ReferralNoteKind, text: string): Promise<NoteCreated> {
  const body: ReferralNoteIn = { kind, text };
  return request<NoteCreated>("POST", path(id, "/notes"), { body });
}

export async function referDown(id: number, input: ReferralDownIn): Promise<ReferralRecord> {
  return request<ReferralRecord>("POST", path(id, "/down"), { body: input });
}

/** The receiving institution's slots from today for two weeks, with what is left of the grassroots reserve. */
export async function listSlots(institutionId: number, signal?: AbortSignal): Promise<Slot[]> {
  return (await request<SlotList>("GET", `/api/referral-slots?institution_id=${institutionId}`, { signal })).items ?? [];
}

// ---- follow-up list ----------------------------------------------------------

export async function listFollowUp(colour: TriageColour | "", signal?: AbortSignal): Promise<FollowUpList> {
  return request<FollowUpList>("GET", `/api/follow-up${colour ? `?colour=${colour}` : ""}`, { signal });
}

export async function getFollowUp(id: number, signal?: AbortSignal): Promise<FollowUpDetail> {
  return request<FollowUpDetail>("GET", `/api/follow-up/${id}`, { signal });
}

export async function changeColour(id: number, colour: TriageColour, reason: string): Promise<FollowUpDetail> {
  const body: ColourChangeIn = { colour, reason };
  return request<FollowUpDetail>("POST", `/api/follow-up/${id}/colour`, { body });
}
