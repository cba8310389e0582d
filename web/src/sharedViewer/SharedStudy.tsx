// A DICOM study in the shared viewer: the existing StudyViewer, followed (slice, window/level, zoom/pan
// and measurements applied from the room's state once the series is on screen) or leading (the user's
// own changes reported: each slice change; window, camera and measurements at most 10 a second).

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { StudyViewer } from "../pages/ViewerPage";
import { windowOf, type CameraView, type StackController } from "../viewer/controller";
import PointerLayer, { type PointerPosition } from "./PointerLayer";
import { currentShapes, shapeEvents, showShapes, type Shapes } from "./stackAnnotations";
import type { ViewerEvent, ViewerState } from "./state";
import { CONTINUOUS_MS, throttle } from "./throttle";

interface Props {
  studyUid: string;
  /** The series the leader opened; null: the study's default series. */
  seriesUid: string | null;
  dicomweb: string;
  state: ViewerState;
  lead: boolean;
  pointer: PointerPosition | null;
  onEvent?: (event: ViewerEvent) => void;
  onPointer?: (position: PointerPosition) => void;
}

/** What is on screen, for the page's test hooks (data-* attributes). */
interface Shown {
  slice: number | null;
  center: number | null;
  width: number | null;
  zoom: number | null;
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export default function SharedStudy({ studyUid, seriesUid, dicomweb, state, lead, pointer, onEvent, onPointer }: Props) {
  const [controller, setController] = useState<StackController | null>(null);
  const [stackVersion, setStackVersion] = useState(0);
  const [shown, setShown] = useState<Shown>({ slice: null, center: null, width: null, zoom: null });
  const emit = useRef(onEvent);
  emit.current = onEvent;
  const leading = useRef(lead);
  leading.current = lead;

  // What is on screen, and when a (new) stack has arrived.
  useEffect(() => {
    if (!controller) return;
    return controller.listen({
      onStackShown: () => setStackVersion((n) => n + 1),
      onSlice: (index) => setShown((s) => ({ ...s, slice: index })),
      onVoi: (voi) => {
        const { center, width } = windowOf(voi);
        setShown((s) => ({ ...s, center: round(center), width: round(width) }));
      },
      onCamera: (view) => setShown((s) => ({ ...s, zoom: round(view.zoom, 3) })),
    });
  }, [controller]);

  // Leading: report the user's own changes.
  const sendWindow = useMemo(() => throttle(CONTINUOUS_MS, (e: ViewerEvent) => emit.current?.(e)), []);
  const sendCamera = useMemo(() => throttle(CONTINUOUS_MS, (e: ViewerEvent) => emit.current?.(e)), []);
  const lastSlice = useRef<number | null>(null);
  const sentShapes = useRef<Shapes>({});
  const sendShapes = useMemo(
    () =>
      throttle(CONTINUOUS_MS, (c: StackController) => {
        const now = currentShapes(c, studyUid);
        for (const event of shapeEvents(sentShapes.current, now)) emit.current?.(event);
        sentShapes.current = now;
      }),
    [studyUid],
  );
  useEffect(() => {
    if (!controller || !lead) return;
    lastSlice.current = state.slice;
    sentShapes.current = { ...state.annotations };
    const stop = controller.listen({
      onSlice: (index) => {
        if (index === lastSlice.current) return;
        lastSlice.current = index;
        emit.current?.({ kind: "slice", index });
      },
      onVoi: (voi) => {
        const { center, width } = windowOf(voi);
        if (width > 0) sendWindow({ kind: "window", center: round(center), width: round(width) });
      },
      onCamera: (view: CameraView) =>
        sendCamera({ kind: "viewport", zoom: round(view.zoom, 4), pan: [round(view.pan[0]), round(view.pan[1])] }),
      onAnnotations: () => sendShapes(controller),
    });
    return () => {
      stop();
      sendWindow.cancel();
      sendCamera.cancel();
      sendShapes.cancel();
    };
    // The state is read once, when the lead starts: later changes are our own.
  }, [controller, lead, sendWindow, sendCamera, sendShapes]);

  // Following: apply the room's view once the stack is on screen, and whenever it changes.
  const ready = controller !== null && stackVersion > 0;
  useEffect(() => {
    if (ready && !lead && state.slice !== null) controller.scrollTo(state.slice);
  }, [ready, controller, lead, state.slice, stackVersion]);
  useEffect(() => {
    if (ready && !lead && state.window) controller.setWindow(state.window.center, state.window.width);
  }, [ready, controller, lead, state.window, stackVersion]);
  useEffect(() => {
    const viewport = state.viewport;
    if (ready && !lead && viewport) controller.setCamera({ zoom: viewport.zoom, pan: viewport.pan ?? [0, 0] });
  }, [ready, controller, lead, state.viewport, stackVersion]);

  const shownShapes = useRef<Shapes>({});
  useEffect(() => {
    if (ready && !lead) showShapes(controller, state.annotations, shownShapes.current, dicomweb);
  }, [ready, controller, lead, state.annotations, stackVersion, dicomweb]);

  const onSeriesChange = useCallback(
    (uid: string) => {
      if (leading.current) emit.current?.({ kind: "open", target: { type: "series", id: uid } });
    },
    [],
  );

  return (
    <div
      className="shared-study"
      data-testid="shared-view"
      data-ready={ready}
      data-slice={shown.slice ?? ""}
      data-window-center={shown.center ?? ""}
      data-window-width={shown.width ?? ""}
      data-zoom={shown.zoom ?? ""}
    >
      <StudyViewer
        studyUid={studyUid}
        dicomweb={dicomweb}
        caseId={null}
        user={null}
        head={null}
        series={seriesUid}
        onSeriesChange={onSeriesChange}
        onController={setController}
        overlay={<PointerLayer pointer={pointer} follow={!lead} onPointer={onPointer} />}
      />
    </div>
  );
}
