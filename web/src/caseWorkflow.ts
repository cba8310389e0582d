// What the UI needs to know about the case workflow beyond what the API says (server/workflow.py).

import type { CaseAction, CaseKind } from "./types";

/** Actions shown as buttons on the case page; report writing, signing and amending live in the report panel. */
export const BUTTON_ACTIONS = [
  "submit",
  "resubmit",
  "claim",
  "start_review",
  "assign",
  "answer",
  "escalate",
  "return",
  "close",
  "cancel",
] as const satisfies readonly CaseAction[];
export type ButtonAction = (typeof BUTTON_ACTIONS)[number];

export interface ActionForm {
  /** Whether the action takes a note, and whether the server requires one. */
  note: "none" | "optional" | "required";
  /** A colleague the action names: the expert asked (escalate) or the reader given the case (assign). */
  person?: "expert" | "assignee";
  /** Ask before acting, even without anything to fill in. */
  confirm: boolean;
  danger?: boolean;
}

export const ACTION_FORMS: Record<ButtonAction, ActionForm> = {
  submit: { note: "none", confirm: false },
  resubmit: { note: "optional", confirm: true },
  claim: { note: "none", confirm: false },
  start_review: { note: "none", confirm: false },
  assign: { note: "optional", person: "assignee", confirm: true },
  answer: { note: "required", confirm: true },
  escalate: { note: "optional", person: "expert", confirm: true },
  return: { note: "required", confirm: true, danger: true },
  close: { note: "optional", confirm: true },
  cancel: { note: "optional", confirm: true, danger: true },
};

/** Kinds a requester opens from the new-request page; the first three go to the county's reading centres. */
export const REQUEST_KINDS = ["imaging", "ecg", "pathology", "consult"] as const satisfies readonly CaseKind[];

/** Kinds routed to a reading centre; the others are addressed to a named expert at submission. */
export const CENTRE_KINDS: readonly CaseKind[] = ["imaging", "ecg", "pathology"];

/**
 * The platform's default answer times after submission (server.workflow.TargetTimes), shown while a
 * request is written; once submitted, the case page shows the server's own `target_at`.
 */
export const TARGET_HOURS = { urgent: 2, routine: 48 } as const;
