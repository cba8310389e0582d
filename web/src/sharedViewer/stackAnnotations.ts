// Measurements in the shared DICOM viewer: the leader's, as `annotation_added` / `annotation_removed`
// events (the shape is the same item the case's saved annotations use, src/viewer/annotations.ts), and
// the room's, drawn locked in a follower's viewer.

import type { Annotation as SavedAnnotation } from "../types";
import { fromSaved, toSaved, wadorsImageId } from "../viewer/annotations";
import type { StackController } from "../viewer/controller";
import type { ViewerEvent } from "./state";

export type Shapes = Record<string, Record<string, unknown>>;

/** The leader's measurements now, by annotation UID (those on images of this study). */
export function currentShapes(controller: StackController, studyUid: string): Shapes {
  const shapes: Shapes = {};
  for (const annotation of controller.measurements()) {
    const item = annotation.annotationUID ? toSaved(annotation, studyUid) : null;
    if (item && annotation.annotationUID) shapes[annotation.annotationUID] = { ...item };
  }
  return shapes;
}

/** The events that take the room from `sent` to `now`. */
export function shapeEvents(sent: Shapes, now: Shapes): ViewerEvent[] {
  const events: ViewerEvent[] = [];
  for (const [id, shape] of Object.entries(now))
    if (JSON.stringify(sent[id]) !== JSON.stringify(shape)) events.push({ kind: "annotation_added", id, shape });
  for (const id of Object.keys(sent)) if (!(id in now)) events.push({ kind: "annotation_removed", id });
  return events;
}

/** Shows the room's measurements in a follower's viewer; `shown` is what it drew before (updated). */
export function showShapes(controller: StackController, shapes: Shapes, shown: Shapes, dicomweb: string): void {
  const stale = Object.keys(shown).filter((id) => JSON.stringify(shown[id]) !== JSON.stringify(shapes[id]));
  controller.remove(stale);
  for (const id of stale) delete shown[id];
  const origin = window.location.origin;
  const added = Object.entries(shapes)
    .filter(([id]) => !(id in shown))
    .map(([id, shape]) => {
      shown[id] = shape;
      const item = { ...shape, id: 0, author: null, created_at: "" } as unknown as SavedAnnotation;
      const imageId = wadorsImageId(
        origin,
        { studyUid: item.study_uid, seriesUid: item.series_uid, sopUid: item.sop_uid, frame: item.frame || 1 },
        dicomweb,
      );
      return fromSaved(item, imageId, true);
    })
    .filter((a) => a !== null);
  if (added.length) controller.restore(added);
}
