import type { TFunction } from "i18next";
import { ApiError } from "./api";

/** A message for the user: the server's `detail` when it sent one, else a translated fallback. */
export function errorMessage(error: unknown, t: TFunction): string {
  if (error instanceof ApiError) {
    if (error.code === "network_error") return t("errors.network_error");
    if (error.detail) return error.detail;
    return t("errors.generic", { code: error.code });
  }
  if (error instanceof Error && error.message) return error.message;
  return t("errors.generic", { code: "unknown" });
}
