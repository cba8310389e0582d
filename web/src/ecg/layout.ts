// Where each trace goes on the ECG "paper", in millimetres: the 3×4 standard layout (2.5 s per column)
// with a lead II rhythm strip, or one lead over the whole record. Grid lines fall on whole millimetres
// and every trace starts on a major (5 mm) line, after a calibration pulse.

export const SPEEDS = [12.5, 25, 50] as const; // mm/s
export const GAINS = [5, 10, 20] as const; // mm/mV
export const ZOOMS = [1, 1.5, 2, 3] as const;
export type Speed = (typeof SPEEDS)[number];
export type Gain = (typeof GAINS)[number];

export const STANDARD_COLUMNS = [
  ["I", "II", "III"],
  ["aVR", "aVL", "aVF"],
  ["V1", "V2", "V3"],
  ["V4", "V5", "V6"],
] as const;
const COLUMN_S = 2.5;
const RHYTHM_LEAD = "II";
const TOP_MM = 5;
/** Room in front of each row for the 1 mV calibration pulse. */
export const PULSE_MM = 10;
const RIGHT_MM = 5;

export interface Segment {
  lead: string;
  /** Seconds of the record shown: [start, end). */
  start: number;
  end: number;
  /** Where `start` is drawn, and the row's zero line, in mm from the paper's top left. */
  xMm: number;
  baselineMm: number;
}

export interface PaperLayout {
  widthMm: number;
  heightMm: number;
  /** Zero lines of the rows (for the calibration pulses). */
  rowBaselinesMm: number[];
  segments: Segment[];
  /** The long strip a caliper is most often used on: lead II over the record, or the single lead. */
  strip: Segment;
}

function rowHeightMm(gain: number, rows: number): number {
  return Math.ceil((rows === 1 ? 4 : 3) * gain);
}

/** `lead` null: the 12-lead standard layout (leads the record lacks are left out); a name: that lead alone. */
export function paperLayout(leads: readonly string[], durationS: number, speed: number, gain: number, lead: string | null): PaperLayout {
  const traceMm = (seconds: number) => seconds * speed;
  if (lead !== null) {
    const row = rowHeightMm(gain, 1);
    const baselineMm = TOP_MM + Math.round(row * 0.6);
    const strip: Segment = { lead, start: 0, end: durationS, xMm: PULSE_MM, baselineMm };
    return {
      widthMm: Math.ceil(PULSE_MM + traceMm(durationS) + RIGHT_MM),
      heightMm: TOP_MM + row + RIGHT_MM,
      rowBaselinesMm: [baselineMm],
      segments: [strip],
      strip,
    };
  }
  const row = rowHeightMm(gain, 4);
  const baselines = [0, 1, 2, 3].map((r) => TOP_MM + r * row + Math.round(row * 0.6));
  const segments: Segment[] = [];
  STANDARD_COLUMNS.forEach((column, c) => {
    const start = c * COLUMN_S;
    if (start >= durationS) return;
    column.forEach((name, r) => {
      if (!leads.includes(name)) return;
      segments.push({ lead: name, start, end: Math.min(start + COLUMN_S, durationS), xMm: PULSE_MM + traceMm(start), baselineMm: baselines[r] });
    });
  });
  const rhythmLead = leads.includes(RHYTHM_LEAD) ? RHYTHM_LEAD : leads[0];
  const strip: Segment = { lead: rhythmLead, start: 0, end: durationS, xMm: PULSE_MM, baselineMm: baselines[3] };
  segments.push(strip);
  const columnsMm = traceMm(Math.max(durationS, STANDARD_COLUMNS.length * COLUMN_S));
  return {
    widthMm: Math.ceil(PULSE_MM + columnsMm + RIGHT_MM),
    heightMm: TOP_MM + 4 * row + RIGHT_MM,
    rowBaselinesMm: baselines,
    segments,
    strip,
  };
}

/** A caliper between two points on the paper: time from the horizontal, voltage from the vertical distance. */
export function caliper(
  a: { x: number; y: number },
  b: { x: number; y: number },
  pxPerMmShown: number,
  speed: number,
  gain: number,
): { intervalMs: number; amplitudeMv: number } {
  const dxMm = Math.abs(b.x - a.x) / pxPerMmShown;
  const dyMm = (a.y - b.y) / pxPerMmShown; // up on screen is positive voltage
  return { intervalMs: (dxMm / speed) * 1000, amplitudeMv: dyMm / gain };
}
