// Cornerstone measurement annotations ⇄ the case's saved annotations (POST/GET /api/cases/{id}/annotations).
//
// What is saved in `data` (format 1):
//   { format: 1, annotationUID, label,
//     metadata: { FrameOfReferenceUID, viewPlaneNormal, viewUp, cameraPosition },
//     handles: { points: [[x,y,z], …] (world, mm), textBox?: [x,y,z] when the label was moved },
//     stats: { length | angle | area | mean | stdDev | min | max | …, unit, areaUnit, modalityUnit } }
// The image is named by the item's study/series/sop/frame, not by the (origin-dependent) imageId.
// Stats are for reading elsewhere (reports); Cornerstone recomputes them when it draws the annotation.

import type { Types as ToolTypes } from "@cornerstonejs/tools";
import type { Annotation as SavedAnnotation, AnnotationInput, User } from "../types";

type CsAnnotation = ToolTypes.Annotation;
type Point3 = [number, number, number];

const IMAGE_PATH = /\/dicomweb\/studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)\/frames\/(\d+)/;

export interface ImageRef {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  frame: number;
}

/** A frame's image id; `root` is the DICOMweb root path ("/dicomweb", or a share link's). */
export function wadorsImageId(origin: string, ref: ImageRef, root = "/dicomweb"): string {
  const e = encodeURIComponent;
  return `wadors:${origin}${root}/studies/${e(ref.studyUid)}/series/${e(ref.seriesUid)}/instances/${e(ref.sopUid)}/frames/${ref.frame}`;
}

export function parseImageId(imageId: string | undefined): ImageRef | null {
  const m = imageId ? IMAGE_PATH.exec(imageId) : null;
  if (!m) return null;
  return {
    studyUid: decodeURIComponent(m[1]),
    seriesUid: decodeURIComponent(m[2]),
    sopUid: decodeURIComponent(m[3]),
    frame: Number(m[4]),
  };
}

function isPoint(value: unknown): value is Point3 {
  return Array.isArray(value) && value.length === 3 && value.every((n) => typeof n === "number" && Number.isFinite(n));
}

/** The plain numbers (and units) of the first cached-stats entry. */
function plainStats(cached: unknown): Record<string, number | string | number[]> {
  const out: Record<string, number | string | number[]> = {};
  if (!cached || typeof cached !== "object") return out;
  const first = Object.values(cached as Record<string, unknown>)[0];
  if (!first || typeof first !== "object") return out;
  for (const [key, value] of Object.entries(first as Record<string, unknown>)) {
    if (typeof value === "number" && Number.isFinite(value)) out[key] = Math.round(value * 1000) / 1000;
    else if (typeof value === "string" && value.length < 40) out[key] = value;
    else if (Array.isArray(value) && value.length <= 4 && value.every((v) => typeof v === "number")) out[key] = value as number[];
  }
  return out;
}

/** A drawn annotation as an item to POST, or null when it is not on an image of this study. */
export function toSaved(annotation: CsAnnotation, studyUid: string): AnnotationInput | null {
  const meta = annotation.metadata;
  const ref = parseImageId(meta?.referencedImageId);
  if (!ref || ref.studyUid !== studyUid || !meta?.toolName) return null;
  const handles = annotation.data?.handles;
  const points = (handles?.points ?? []).filter(isPoint).map((p) => [p[0], p[1], p[2]] as Point3);
  if (points.length === 0) return null;
  const textBox = handles?.textBox;
  const data: Record<string, unknown> = {
    format: 1,
    annotationUID: annotation.annotationUID,
    label: annotation.data?.label ?? "",
    metadata: {
      FrameOfReferenceUID: meta.FrameOfReferenceUID,
      viewPlaneNormal: meta.viewPlaneNormal,
      viewUp: meta.viewUp,
      cameraPosition: meta.cameraPosition,
    },
    handles: {
      points,
      ...(textBox?.hasMoved && isPoint(textBox.worldPosition) ? { textBox: [...textBox.worldPosition] } : {}),
    },
    stats: plainStats(annotation.data?.cachedStats),
  };
  return {
    study_uid: ref.studyUid,
    series_uid: ref.seriesUid,
    sop_uid: ref.sopUid,
    frame: ref.frame,
    tool: meta.toolName,
    data,
  };
}

/** A saved item back as a Cornerstone annotation on `imageId`; others' annotations are locked. */
export function fromSaved(item: SavedAnnotation, imageId: string, locked: boolean): CsAnnotation | null {
  const data = (item.data ?? {}) as {
    annotationUID?: string;
    label?: string;
    metadata?: Record<string, unknown>;
    handles?: { points?: unknown[]; textBox?: unknown };
  };
  const points = (data.handles?.points ?? []).filter(isPoint);
  if (points.length === 0) return null;
  const textBox = isPoint(data.handles?.textBox) ? data.handles.textBox : null;
  const metadata = data.metadata ?? {};
  return {
    annotationUID: typeof data.annotationUID === "string" ? data.annotationUID : `saved-${item.id}`,
    highlighted: false,
    invalidated: true,
    isLocked: locked,
    isVisible: true,
    metadata: {
      toolName: item.tool,
      referencedImageId: imageId,
      FrameOfReferenceUID: metadata.FrameOfReferenceUID as string,
      viewPlaneNormal: metadata.viewPlaneNormal as Point3,
      ...(isPoint(metadata.viewUp) ? { viewUp: metadata.viewUp } : {}),
      ...(isPoint(metadata.cameraPosition) ? { cameraPosition: metadata.cameraPosition } : {}),
    },
    data: {
      label: typeof data.label === "string" ? data.label : "",
      cachedStats: {},
      handles: {
        points: points.map((p) => [p[0], p[1], p[2]] as Point3),
        activeHandleIndex: null,
        textBox: {
          hasMoved: textBox !== null,
          worldPosition: textBox ?? [0, 0, 0],
          worldBoundingBox: {
            topLeft: [0, 0, 0],
            topRight: [0, 0, 0],
            bottomLeft: [0, 0, 0],
            bottomRight: [0, 0, 0],
          },
        },
      },
    },
  } as CsAnnotation;
}

/** Whether a saved annotation was made by `user` (the server names the author by display name). */
export function isMine(item: SavedAnnotation, user: User): boolean {
  const author = item.author;
  return author === user.username || author === user.display_name || author === String(user.id);
}
