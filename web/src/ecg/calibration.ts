// Screen calibration: CSS pixels are not millimetres (a "96 dpi" CSS pixel is only nominal), so the user
// matches a bank or ID card (ISO/IEC 7810 ID-1, 85.60 mm wide) on screen once; the result is kept per
// browser in localStorage as CSS px per mm.

export const CARD_WIDTH_MM = 85.6;
export const CARD_HEIGHT_MM = 53.98;
/** The CSS reference pixel: 96 per inch. */
export const DEFAULT_PX_PER_MM = 96 / 25.4;
const KEY = "telemed.ecg.pxPerMm";
const MIN_PX_PER_MM = 1;
const MAX_PX_PER_MM = 20;

export function validPxPerMm(value: number): boolean {
  return Number.isFinite(value) && value >= MIN_PX_PER_MM && value <= MAX_PX_PER_MM;
}

/** The stored calibration, or null when this browser was never calibrated. */
export function storedPxPerMm(): number | null {
  const value = Number(localStorage.getItem(KEY));
  return localStorage.getItem(KEY) !== null && validPxPerMm(value) ? value : null;
}

export function savePxPerMm(value: number): void {
  if (!validPxPerMm(value)) throw new RangeError(`px per mm out of range: ${value}`);
  localStorage.setItem(KEY, String(value));
}

export function clearPxPerMm(): void {
  localStorage.removeItem(KEY);
}
