// Reading DICOM JSON (PS3.18 F.2) and ordering a series' instances for a stack.

import type { DicomJson } from "../api";

export const TAG = {
  studyUid: "0020000D",
  seriesUid: "0020000E",
  sopUid: "00080018",
  patientName: "00100010",
  patientId: "00100020",
  studyDate: "00080020",
  studyDescription: "00081030",
  modalitiesInStudy: "00080061",
  seriesCount: "00201206",
  instanceCountStudy: "00201208",
  modality: "00080060",
  seriesDescription: "0008103E",
  seriesNumber: "00200011",
  instanceCountSeries: "00201209",
  instanceNumber: "00200013",
  imagePosition: "00200032",
  imageOrientation: "00200037",
  sliceLocation: "00201041",
  numberOfFrames: "00280008",
} as const;

export function values(ds: DicomJson | undefined, tag: string): unknown[] {
  return ds?.[tag]?.Value ?? [];
}

/** First value as text; person names (PN) as their alphabetic form with ^ shown as spaces. */
export function str(ds: DicomJson | undefined, tag: string): string {
  const first = values(ds, tag)[0];
  if (first === undefined || first === null) return "";
  if (typeof first === "object") {
    const pn = first as { Alphabetic?: string; Ideographic?: string };
    return personName(pn.Alphabetic ?? pn.Ideographic ?? "");
  }
  return String(first);
}

export function personName(raw: string): string {
  return raw
    .split("^")
    .map((part) => part.trim())
    .filter(Boolean)
    .join(" ");
}

export function num(ds: DicomJson | undefined, tag: string): number | null {
  const first = values(ds, tag)[0];
  const n = typeof first === "number" ? first : typeof first === "string" ? Number(first) : NaN;
  return Number.isFinite(n) ? n : null;
}

export function nums(ds: DicomJson | undefined, tag: string): number[] {
  return values(ds, tag)
    .map((v) => (typeof v === "number" ? v : Number(v)))
    .filter((n) => Number.isFinite(n));
}

/** DICOM DA "20260301" (or ISO "2026-03-01") → "2026-03-01". */
export function formatDicomDate(value: string | null | undefined): string {
  if (!value) return "";
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(value);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : value;
}

export interface StackFrame {
  sopUid: string;
  /** Frame number, from 1. */
  frame: number;
  instance: DicomJson;
}

/**
 * Instances (and frames of multi-frame instances) in display order: by position along the
 * slice normal when every instance has a position and orientation, else by InstanceNumber.
 */
export function orderFrames(instances: DicomJson[]): StackFrame[] {
  const withPos = instances.map((instance) => ({
    instance,
    position: nums(instance, TAG.imagePosition),
    orientation: nums(instance, TAG.imageOrientation),
    number: num(instance, TAG.instanceNumber) ?? 0,
  }));
  const first = withPos.find((i) => i.orientation.length === 6);
  const canUsePosition = first !== undefined && withPos.every((i) => i.position.length === 3);
  let sorted = withPos;
  if (canUsePosition && first) {
    const [r0, r1, r2, c0, c1, c2] = first.orientation;
    const normal = [r1 * c2 - r2 * c1, r2 * c0 - r0 * c2, r0 * c1 - r1 * c0];
    const distance = (p: number[]) => p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
    sorted = [...withPos].sort((a, b) => distance(a.position) - distance(b.position) || a.number - b.number);
    // Radiologists scroll from head to feet on axial stacks: highest z first, as most PACS do.
    if (Math.abs(normal[2]) > 0.5) sorted.reverse();
  } else {
    sorted = [...withPos].sort((a, b) => a.number - b.number);
  }
  const frames: StackFrame[] = [];
  for (const { instance } of sorted) {
    const sopUid = str(instance, TAG.sopUid);
    const count = Math.max(1, num(instance, TAG.numberOfFrames) ?? 1);
    for (let frame = 1; frame <= count; frame++) frames.push({ sopUid, frame, instance });
  }
  return frames;
}
