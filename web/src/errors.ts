import type { TFunction } from "i18next";
import { ApiError } from "./api";
import { CASE_EVENT_ACTIONS, CASE_STATUSES, isKnown } from "./types";

/** Error codes the UI explains in the user's language (the server's `detail` is English, for logs and programs). */
const TRANSLATED_CODES = [
  "missing_field",
  "invalid_field",
  "illegal_transition",
  "conflict",
  "forbidden",
  "expert_required",
  "report_incomplete",
  "no_draft",
  "no_report",
  "no_institution",
  "not_found",
  "csrf_failed",
  "already_read",
  "invalid_query",
  "identity_check_required",
  "identity_mismatch",
  "invalid_identifier",
  "no_stored_identifier",
  "too_many_identity_checks",
  "patient_identifier_required",
  "already_referred",
  "not_upward",
  "quota_exhausted",
  "slot_past",
  "already_referred_down",
  "statement_final",
  "invalid_agreement",
  "same_colour",
  "follow_up_closed",
] as const;

/** Request fields the server may name in `field`; `patient.name` is looked up as `patient_name`. */
const FIELDS = [
  "patient_name",
  "patient_birth_date",
  "patient_sex",
  "patient_id",
  "kind",
  "urgency",
  "clinical_question",
  "note",
  "reason",
  "expert",
  "assignee",
  "content",
] as const;

function fieldLabel(field: unknown, t: TFunction): string {
  if (typeof field !== "string") return "";
  const key = field.replace(/\./g, "_");
  if (isKnown(FIELDS, key)) return t(`errors.fields.${key}`);
  return field.startsWith("content.") ? t("errors.reportField", { key: field.slice("content.".length) }) : field;
}

function statusLabel(state: unknown, t: TFunction): string {
  if (typeof state !== "string") return "";
  return isKnown(CASE_STATUSES, state) ? t(`status.${state}`) : state;
}

function actionLabel(action: unknown, t: TFunction): string {
  if (typeof action !== "string") return "";
  return isKnown(CASE_EVENT_ACTIONS, action) ? t(`caseAction.${action}`) : action;
}

/**
 * A message for the user: a translated explanation for the error codes the UI knows, else the server's
 * `detail`, else a translated fallback.
 */
export function errorMessage(error: unknown, t: TFunction): string {
  if (error instanceof ApiError) {
    if (error.code === "network_error") return t("errors.network_error");
    if (isKnown(TRANSLATED_CODES, error.code)) {
      const missing = Array.isArray(error.extra.missing) ? error.extra.missing.join("、") : "";
      return t(`errors.codes.${error.code}`, {
        field: fieldLabel(error.extra.field, t),
        state: statusLabel(error.extra.state, t),
        action: actionLabel(error.extra.action, t),
        missing,
      });
    }
    if (error.detail) return error.detail;
    return t("errors.generic", { code: error.code });
  }
  if (error instanceof Error && error.message) return error.message;
  return t("errors.generic", { code: "unknown" });
}
