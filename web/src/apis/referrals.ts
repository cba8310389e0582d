// Two-way referral (server/api/referrals.py, referral_office.py) and the follow-up list (follow_up.py).

import { request } from "../api";
import type { CaseKind, Person, Report, Sex, Tier } from "../types";

export const REFERRAL_STATES = ["sent", "received", "booked", "arrived", "admitted", "treated", "discharged", "closed", "declined", "cancelled"] as const;
export const REFERRAL_ACTIONS = ["receive", "book", "decline", "arrive", "admit", "treat", "discharge", "refer_down", "close", "cancel"] as const;
export type ReferralAction = (typeof REFERRAL_ACTIONS)[number];
/** 两免三优先: the two fees waived and the three priorities of a patient their family doctor refers up. */
export const PRIORITY_FLAGS = ["no_registration_fee", "no_health_management_fee", "priority_visit", "priority_exam", "priority_admission"] as const;
export const SLOT_KINDS = ["outpatient", "ct", "mri", "ultrasound", "endoscopy"] as const;
export const NOTE_KINDS = ["treatment_plan", "record"] as const;
export type NoteKind = (typeof NOTE_KINDS)[number];
export const TRIAGE_COLOURS = ["green", "yellow", "red"] as const;
export type TriageColour = (typeof TRIAGE_COLOURS)[number];
export type IdentityDocument = "national_id" | "health_card";

export interface TieredInstitution {
  id: number;
  name: string;
  tier: Tier;
}

export interface Slot {
  id: number;
  institution_id: number;
  day: string;
  kind: string;
  department: string;
  capacity: number;
  reserved: number;
  booked: number;
  available: number;
}

/** What anyone who may see the referral sees: the patient's name masked, no record. */
export interface ReferralSummary {
  id: number;
  direction: "up" | "down";
  /** One of REFERRAL_STATES; a string so a new state still renders. */
  state: string;
  parent_id: number | null;
  from_institution: TieredInstitution;
  to_institution: TieredInstitution;
  patient: { name_masked: string; sex: Sex | null };
  priority: string[];
  slot: Slot | null;
  decline_reason: string | null;
  created_by: Person | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  sides: string[];
  /** What this user may do now. */
  actions: string[];
  /** Open the record only after confirming the patient's identity. */
  identity_check_required: boolean;
}

export interface FollowUpPlan {
  plan: string;
  due_dates: string[];
  colour: TriageColour;
}

export interface ReferralNote {
  id: number;
  kind: NoteKind;
  text: string;
  author: Person | null;
  created_at: string;
}

export interface ReferralRecord extends Omit<ReferralSummary, "patient"> {
  identity_checked_until: string | null;
  patient: { id: number; name: string; sex: Sex | null; birth_date: string | null; national_id: string | null; health_card_no: string | null };
  letter: { reason: string; diagnosis: string; history: string; treatment: string };
  material: {
    case: { id: number; kind: CaseKind; clinical_question: string };
    studies: { study_uid: string; study_date: string | null; description: string | null; modalities: string[] }[];
    report: Report | null;
  };
  discharge_summary: string | null;
  /** The referral down's plan; a referral up has none (`{}` or null). */
  follow_up_plan: FollowUpPlan | Record<string, never> | null;
  down_referral_id: number | null;
  notes: ReferralNote[];
  events: { action: string; from_state: string | null; to_state: string; actor: Person | null; at: string; note: string }[];
}

export interface ReferralUpInput {
  case_id: number;
  to_institution_id: number;
  reason: string;
  diagnosis: string;
  history?: string;
  treatment?: string;
}

export interface ReferralDownInput {
  diagnosis: string;
  discharge_summary: string;
  reason?: string;
  follow_up: FollowUpPlan;
}

const path = (id: number, rest = "") => `/api/referrals/${id}${rest}`;

export async function listReferrals(box: "incoming" | "outgoing", signal?: AbortSignal): Promise<ReferralSummary[]> {
  return (await request<{ items: ReferralSummary[] }>("GET", `/api/referrals?box=${box}`, { signal })).items ?? [];
}

export async function createReferral(input: ReferralUpInput): Promise<ReferralRecord> {
  return request<ReferralRecord>("POST", "/api/referrals", { body: input });
}

/** The record; 403 `identity_check_required` until this user has confirmed the patient's identity. */
export async function getReferral(id: number, signal?: AbortSignal): Promise<ReferralRecord> {
  return request<ReferralRecord>("GET", path(id), { signal });
}

export async function checkIdentity(id: number, document: IdentityDocument, number: string): Promise<{ valid_until: string }> {
  return request("POST", path(id, "/identity-check"), { body: { document, number } });
}

export async function referralAction(id: number, action: Exclude<ReferralAction, "refer_down">, body: Record<string, unknown> = {}): Promise<ReferralSummary> {
  return request<ReferralSummary>("POST", path(id, `/actions/${action}`), { body });
}

export async function addReferralNote(id: number, kind: NoteKind, text: string): Promise<{ id: number }> {
  return request("POST", path(id, "/notes"), { body: { kind, text } });
}

export async function referDown(id: number, input: ReferralDownInput): Promise<ReferralRecord> {
  return request<ReferralRecord>("POST", path(id, "/down"), { body: input });
}

/** The receiving institution's slots from today for two weeks, with what is left of the grassroots reserve. */
export async function listSlots(institutionId: number, signal?: AbortSignal): Promise<Slot[]> {
  return (await request<{ items: Slot[] }>("GET", `/api/referral-slots?institution_id=${institutionId}`, { signal })).items ?? [];
}

// ---- follow-up list ----------------------------------------------------------

export interface ColourMeaning {
  code: TriageColour;
  meaning_zh: string;
  meaning_en: string;
}

export interface FollowUpEntry {
  id: number;
  patient: { id: number; name: string; sex: Sex | null; birth_date: string | null; national_id_masked: string };
  colour: ColourMeaning;
  plan: string;
  due_dates: string[];
  next_due: string | null;
  referral: { id: number; from_institution: TieredInstitution; diagnosis: string; discharge_summary: string | null };
  created_at: string;
  closed_at: string | null;
  colour_history?: { from: TriageColour | null; to: TriageColour; reason: string; by: Person | null; at: string }[];
}

export async function listFollowUp(colour: TriageColour | "", signal?: AbortSignal): Promise<{ items: FollowUpEntry[]; colours: ColourMeaning[] }> {
  return request("GET", `/api/follow-up${colour ? `?colour=${colour}` : ""}`, { signal });
}

export async function getFollowUp(id: number, signal?: AbortSignal): Promise<FollowUpEntry> {
  return request<FollowUpEntry>("GET", `/api/follow-up/${id}`, { signal });
}

export async function changeColour(id: number, colour: TriageColour, reason: string): Promise<FollowUpEntry> {
  return request<FollowUpEntry>("POST", `/api/follow-up/${id}/colour`, { body: { colour, reason } });
}
