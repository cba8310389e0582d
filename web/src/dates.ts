import type { TFunction } from "i18next";

/** An ISO timestamp as local date and time in the UI's language ("2026/12/08 14:05"), or "" when absent. */
export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

/** A waiting time as "45 分钟", "3 小时 5 分", "2 天 4 小时" (or their English forms). */
export function formatDuration(seconds: number, t: TFunction): string {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("duration.minutes", { count: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("duration.hoursMinutes", { hours, minutes: minutes % 60 });
  return t("duration.daysHours", { days: Math.floor(hours / 24), hours: hours % 24 });
}

/** The month before `date`'s, as YYYY-MM, in local time (statements are made for months that have ended). */
export function previousMonth(date = new Date()): string {
  const first = new Date(date.getFullYear(), date.getMonth() - 1, 1);
  return `${first.getFullYear()}-${String(first.getMonth() + 1).padStart(2, "0")}`;
}

/** `date`'s month as YYYY-MM, in local time. */
export function thisMonth(date = new Date()): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}`;
}
