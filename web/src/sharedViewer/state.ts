// The shared viewer's state: the fold of a room's viewer-event stream, exactly as the signalling server
// folds it (signaling/events.py `fold`), so a late joiner's `welcome` state, a live follower and the
// recording player (folding up to a moment of the video) all show the same thing.

export type ViewerTarget = { type: "study" | "series" | "ecg" | "slide"; id: string };

export interface WindowState {
  center: number;
  width: number;
}

/**
 * DICOM: `zoom` (1: the image fitted) and `pan` (Cornerstone's camera pan, world mm). Slides: `x`, `y`, the
 * centre in OpenSeadragon viewport coordinates (fractions of the image's width) and `zoom` (1: the image's
 * width fills the viewer). ECG: `zoom` of the paper (1: true scale).
 */
export interface ViewportState {
  zoom: number;
  pan?: [number, number];
  x?: number;
  y?: number;
}

export type ViewerEvent =
  | { kind: "open"; target: ViewerTarget }
  | { kind: "slice"; index: number }
  | ({ kind: "window" } & WindowState)
  | ({ kind: "viewport" } & ViewportState)
  | { kind: "annotation_added"; id: string; shape: Record<string, unknown> }
  | { kind: "annotation_removed"; id: string }
  | { kind: "pointer"; x: number; y: number };

export interface ViewerState {
  seq: number;
  open: ViewerTarget | null;
  slice: number | null;
  window: WindowState | null;
  viewport: ViewportState | null;
  annotations: Record<string, Record<string, unknown>>;
}

/** One item of a stream: a live `viewer` frame (`event`) or a stored room event (`payload`, with `kind`). */
export interface StreamItem {
  t_ms: number;
  seq?: number;
  /** Stored room events say "viewer" or "chat"; chat lines are skipped. */
  kind?: string;
  event?: ViewerEvent;
  payload?: ViewerEvent;
}

export const EMPTY_VIEWER_STATE: ViewerState = {
  seq: 0,
  open: null,
  slice: null,
  window: null,
  viewport: null,
  annotations: {},
};

const VIEWER_KINDS = new Set(["open", "slice", "window", "viewport", "annotation_added", "annotation_removed", "pointer"]);

function withoutKind<E extends ViewerEvent>(event: E): Omit<E, "kind"> {
  const { kind: _kind, ...body } = event;
  return body;
}

/** The state after one event (seq is the event's number in the room's stream). */
export function foldViewerEvent(state: ViewerState, seq: number, event: ViewerEvent): ViewerState {
  let next = state;
  switch (event.kind) {
    case "open":
      next = { ...EMPTY_VIEWER_STATE, open: event.target };
      break;
    case "slice":
      next = { ...state, slice: event.index };
      break;
    case "window":
      next = { ...state, window: withoutKind(event) };
      break;
    case "viewport":
      next = { ...state, viewport: withoutKind(event) };
      break;
    case "annotation_added":
      next = { ...state, annotations: { ...state.annotations, [event.id]: event.shape } };
      break;
    case "annotation_removed": {
      const { [event.id]: _removed, ...annotations } = state.annotations;
      next = { ...state, annotations };
      break;
    }
    case "pointer": // in the stream, not in the state
      break;
  }
  return { ...next, seq };
}

/** The viewer event an item carries, or null (chat lines, anything unknown). */
export function viewerEventOf(item: StreamItem): ViewerEvent | null {
  if (item.kind !== undefined && item.kind !== "viewer") return null;
  const event = item.event ?? item.payload;
  return event && typeof event === "object" && VIEWER_KINDS.has(event.kind) ? event : null;
}

/** The state after every viewer event of the stream (in stream order) with `t_ms` ≤ `uptoMs`. */
export function foldViewerEvents(events: StreamItem[], uptoMs?: number): ViewerState {
  let state = EMPTY_VIEWER_STATE;
  events.forEach((item, index) => {
    if (uptoMs !== undefined && item.t_ms > uptoMs) return;
    const event = viewerEventOf(item);
    if (event) state = foldViewerEvent(state, item.seq ?? index + 1, event);
  });
  return state;
}

/** Where the leader's pointer was at `uptoMs` (the last pointer event since the last `open`), or null. */
export function pointerAt(events: StreamItem[], uptoMs?: number): { x: number; y: number } | null {
  let pointer: { x: number; y: number } | null = null;
  for (const item of events) {
    if (uptoMs !== undefined && item.t_ms > uptoMs) continue;
    const event = viewerEventOf(item);
    if (event?.kind === "open") pointer = null;
    else if (event?.kind === "pointer") pointer = { x: event.x, y: event.y };
  }
  return pointer;
}
