// Money and rates as the API keeps them: integer fen (分) and integer basis points (1/100 of a percent).
// Conversions go through strings, never floating-point arithmetic, so 19.99 元 is exactly 1999 分.

const YUAN = /^(\d{1,9})(?:\.(\d{0,2}))?$/;
const PERCENT = /^(\d{1,3})(?:\.(\d{0,2}))?$/;

/** 4550 → "45.50"; -300 → "-3.00". */
export function yuan(fen: number): string {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** "45.5" → 4550; null when it is not an amount of yuan with at most two decimals. */
export function parseYuan(text: string): number | null {
  const match = YUAN.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
}

/** 1250 → "12.5%". */
export function percent(bp: number): string {
  return `${(bp / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

/** "12.5" → 1250; null when it is not a percentage from 0 to 100 with at most two decimals. */
export function parsePercent(text: string): number | null {
  const match = PERCENT.exec(text.trim());
  if (!match) return null;
  const bp = Number(match[1]) * 100 + Number((match[2] ?? "").padEnd(2, "0"));
  return bp <= 10000 ? bp : null;
}
