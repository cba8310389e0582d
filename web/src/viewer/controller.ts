// One stack viewport and its tools, driven imperatively; the React page shows its state.

import { Enums, RenderingEngine, eventTarget, utilities as csUtilities, type Types } from "@cornerstonejs/core";
import { wadors } from "@cornerstonejs/dicom-image-loader";
import {
  AngleTool,
  EllipticalROITool,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  RectangleROITool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  annotation as annotationApi,
  utilities as toolUtilities,
  type Types as ToolTypes,
} from "@cornerstonejs/tools";
import type { DicomJson } from "../api";
import { MEASUREMENT_TOOLS, initCornerstone } from "./cornerstone";

const { MouseBindings, KeyboardBindings } = ToolEnums;

/** Primary-button tools of the toolbar (the `tool-<name>` test hooks). */
export const PRIMARY_TOOLS = {
  wl: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  rect: RectangleROITool.toolName,
  roi: EllipticalROITool.toolName,
} as const;
export type PrimaryTool = keyof typeof PRIMARY_TOOLS;

export interface Voi {
  lower: number;
  upper: number;
}

/** Zoom relative to the fitted image, pan in world mm (Cornerstone's getZoom / getPan). */
export interface CameraView {
  zoom: number;
  pan: [number, number];
}

export interface ControllerEvents {
  onSlice(index: number, count: number): void;
  onVoi(voi: Voi): void;
  onInvert(inverted: boolean): void;
  onAnnotations(): void;
  onCine(playing: boolean): void;
  /** Zoom or pan changed (the shared viewer reports it). */
  onCamera?(view: CameraView): void;
  /** A stack is on screen (after showStack): a follower can now apply the shared view. */
  onStackShown?(count: number): void;
}

/** DICOM window (PS3.3 C.11.2.1.2.1, linear) of a VOI range, as Cornerstone maps them. */
export function windowOf(voi: Voi): { width: number; center: number } {
  const { windowWidth, windowCenter } = csUtilities.windowLevel.toWindowLevel(voi.lower, voi.upper);
  return { width: windowWidth, center: windowCenter };
}

let instances = 0;

export class StackController {
  readonly element: HTMLDivElement;
  private readonly events: ControllerEvents;
  private readonly id = ++instances;
  private engine: RenderingEngine | null = null;
  private readonly viewportId = `stack-${this.id}`;
  private readonly toolGroupId = `viewer-tools-${this.id}`;
  private primary: PrimaryTool = "wl";
  private destroyed = false;
  private cinePlaying = false;
  private loadToken = 0;
  private readonly resizeObserver: ResizeObserver;
  private readonly listeners = new Set<Partial<ControllerEvents>>();

  constructor(element: HTMLDivElement, events: ControllerEvents) {
    this.element = element;
    this.events = events;
    this.resizeObserver = new ResizeObserver(() => this.engine?.resize(true, true));
  }

  async mount(): Promise<void> {
    await initCornerstone();
    if (this.destroyed) return;
    const engine = new RenderingEngine(`viewer-engine-${this.id}`);
    this.engine = engine;
    engine.enableElement({
      viewportId: this.viewportId,
      type: Enums.ViewportType.STACK,
      element: this.element,
      defaultOptions: { background: [0, 0, 0] as Types.Point3 },
    });

    const group = ToolGroupManager.createToolGroup(this.toolGroupId);
    if (!group) throw new Error("tool group could not be created");
    for (const name of [
      WindowLevelTool.toolName,
      PanTool.toolName,
      ZoomTool.toolName,
      StackScrollTool.toolName,
      ...MEASUREMENT_TOOLS,
    ]) {
      group.addTool(name);
    }
    group.addViewport(this.viewportId, engine.id);
    // Fixed bindings: wheel scrolls, ctrl-wheel and right-drag zoom, middle-drag pans.
    group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
    group.setToolActive(ZoomTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Secondary }, { mouseButton: MouseBindings.Wheel, modifierKey: KeyboardBindings.Ctrl }],
    });
    group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
    for (const name of MEASUREMENT_TOOLS) group.setToolPassive(name);
    group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });

    this.element.addEventListener("contextmenu", preventDefault);
    this.element.addEventListener(Enums.Events.STACK_NEW_IMAGE, this.onNewImage as EventListener);
    this.element.addEventListener(Enums.Events.VOI_MODIFIED, this.onVoiModified as EventListener);
    this.element.addEventListener(Enums.Events.CAMERA_MODIFIED, this.onCameraModified);
    for (const name of ANNOTATION_EVENTS) eventTarget.addEventListener(name, this.onAnnotationEvent);
    this.resizeObserver.observe(this.element);
  }

  destroy(): void {
    this.destroyed = true;
    this.resizeObserver.disconnect();
    this.stopCine();
    this.element.removeEventListener("contextmenu", preventDefault);
    this.element.removeEventListener(Enums.Events.STACK_NEW_IMAGE, this.onNewImage as EventListener);
    this.element.removeEventListener(Enums.Events.VOI_MODIFIED, this.onVoiModified as EventListener);
    this.element.removeEventListener(Enums.Events.CAMERA_MODIFIED, this.onCameraModified);
    for (const name of ANNOTATION_EVENTS) eventTarget.removeEventListener(name, this.onAnnotationEvent);
    if (this.engine) {
      try {
        toolUtilities.stackPrefetch.disable(this.element);
      } catch {
        // not enabled
      }
      ToolGroupManager.destroyToolGroup(this.toolGroupId);
      this.engine.destroy();
      this.engine = null;
    }
    annotationApi.state.removeAllAnnotations();
  }

  /** Another listener beside the page's own (the shared viewer); returns its removal. */
  listen(listener: Partial<ControllerEvents>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit<K extends keyof ControllerEvents>(name: K, ...args: Parameters<NonNullable<ControllerEvents[K]>>): void {
    for (const target of [this.events, ...this.listeners]) {
      const handler = target[name] as ((...a: typeof args) => void) | undefined;
      handler?.apply(target, args);
    }
  }

  get viewport(): Types.IStackViewport | null {
    if (!this.engine) return null;
    return (this.engine.getViewport(this.viewportId) as Types.IStackViewport | undefined) ?? null;
  }

  /** Registers the instances' metadata with the loader (the OHIF way) and shows the stack. */
  async showStack(imageIds: string[], metadata: DicomJson[], startIndex = 0): Promise<void> {
    const viewport = this.viewport;
    if (!viewport) return;
    const token = ++this.loadToken;
    this.stopCine();
    imageIds.forEach((imageId, i) => wadors.metaDataManager.add(imageId, metadata[i] as never));
    const rendered = once(this.element, Enums.Events.IMAGE_RENDERED, 15000);
    await viewport.setStack(imageIds, Math.min(Math.max(0, startIndex), imageIds.length - 1));
    if (token !== this.loadToken || this.destroyed) return;
    viewport.resetCamera(); // a new series opens fitted to the viewport, whatever the last one's zoom
    viewport.render();
    await rendered;
    if (token !== this.loadToken || this.destroyed) return;
    toolUtilities.stackPrefetch.enable(this.element);
    this.emit("onSlice", viewport.getCurrentImageIdIndex(), imageIds.length);
    this.emitVoi();
    this.emit("onInvert", Boolean(viewport.getProperties().invert));
    this.emit("onStackShown", imageIds.length);
  }

  setPrimaryTool(tool: PrimaryTool): void {
    const group = ToolGroupManager.getToolGroup(this.toolGroupId);
    if (!group || tool === this.primary) return;
    const previous = PRIMARY_TOOLS[this.primary];
    group.setToolPassive(previous);
    group.setToolActive(PRIMARY_TOOLS[tool], { bindings: [{ mouseButton: MouseBindings.Primary }] });
    this.primary = tool;
  }

  /** Window centre / width in the image's modality units (HU for CT), with the DICOM linear function. */
  setWindow(center: number, width: number): void {
    const viewport = this.viewport;
    if (!viewport) return;
    viewport.setProperties({ voiRange: csUtilities.windowLevel.toLowHighRange(width, center) });
    viewport.render();
    this.emitVoi();
  }

  /** Back to the image's own window, no zoom / pan, not inverted. */
  reset(): void {
    const viewport = this.viewport;
    if (!viewport) return;
    viewport.resetProperties();
    viewport.resetCamera();
    viewport.render();
    this.emitVoi();
    this.emit("onInvert", Boolean(viewport.getProperties().invert));
  }

  camera(): CameraView | null {
    const viewport = this.viewport;
    if (!viewport || viewport.getImageIds().length === 0) return null;
    const [x, y] = viewport.getPan();
    return { zoom: viewport.getZoom(), pan: [x, y] };
  }

  setCamera(view: CameraView): void {
    const viewport = this.viewport;
    if (!viewport || viewport.getImageIds().length === 0) return;
    viewport.setZoom(view.zoom);
    viewport.setPan(view.pan);
    viewport.render();
  }

  toggleInvert(): void {
    const viewport = this.viewport;
    if (!viewport) return;
    const invert = !viewport.getProperties().invert;
    viewport.setProperties({ invert });
    viewport.render();
    this.emit("onInvert", invert);
  }

  scrollBy(delta: number): void {
    const viewport = this.viewport;
    if (!viewport) return;
    const count = viewport.getImageIds().length;
    const target = Math.min(count - 1, Math.max(0, viewport.getCurrentImageIdIndex() + delta));
    if (target !== viewport.getCurrentImageIdIndex()) void viewport.setImageIdIndex(target);
  }

  scrollTo(index: number): void {
    const viewport = this.viewport;
    if (!viewport) return;
    const count = viewport.getImageIds().length;
    void viewport.setImageIdIndex(Math.min(count - 1, Math.max(0, index)));
  }

  playCine(fps: number): void {
    const viewport = this.viewport;
    if (!viewport || viewport.getImageIds().length < 2) return;
    toolUtilities.cine.playClip(this.element, { framesPerSecond: fps, loop: true });
    this.cinePlaying = true;
    this.emit("onCine", true);
  }

  stopCine(): void {
    if (!this.cinePlaying) return;
    try {
      toolUtilities.cine.stopClip(this.element);
    } catch {
      // the element may already be disabled
    }
    this.cinePlaying = false;
    this.emit("onCine", false);
  }

  imageIndex(): number {
    return this.viewport?.getCurrentImageIdIndex() ?? -1;
  }

  imageCount(): number {
    return this.viewport?.getImageIds().length ?? 0;
  }

  voi(): Voi {
    const range = this.viewport?.getProperties().voiRange;
    return { lower: range?.lower ?? NaN, upper: range?.upper ?? NaN };
  }

  /** Measurement annotations currently in the viewer (all series). */
  measurements(): ToolTypes.Annotation[] {
    return (annotationApi.state.getAllAnnotations() ?? []).filter((a) =>
      MEASUREMENT_TOOLS.includes(a.metadata?.toolName ?? ""),
    );
  }

  /** Adds saved annotations (loaded from the server); ones already present (same UID) are kept as they are. */
  restore(annotations: ToolTypes.Annotation[]): void {
    for (const item of annotations) {
      if (item.annotationUID && annotationApi.state.getAnnotation(item.annotationUID)) continue;
      annotationApi.state.addAnnotation(item, this.element);
    }
    this.renderAnnotations();
    this.emit("onAnnotations");
  }

  /** Removes annotations by UID (the shared viewer's leader removed them). */
  remove(uids: string[]): void {
    for (const uid of uids) annotationApi.state.removeAnnotation(uid);
    if (uids.length) {
      this.renderAnnotations();
      this.emit("onAnnotations");
    }
  }

  /** Deletes the selected annotations that are not locked (others' measurements are). */
  deleteSelected(): number {
    let removed = 0;
    for (const uid of annotationApi.selection.getAnnotationsSelected()) {
      const item = annotationApi.state.getAnnotation(uid);
      if (item && !item.isLocked) {
        annotationApi.state.removeAnnotation(uid);
        removed++;
      }
    }
    if (removed) {
      this.renderAnnotations();
      this.emit("onAnnotations");
    }
    return removed;
  }

  private renderAnnotations(): void {
    if (this.engine) toolUtilities.triggerAnnotationRenderForViewportIds([this.viewportId]);
    this.viewport?.render();
  }

  private emitVoi(): void {
    const voi = this.voi();
    if (Number.isFinite(voi.lower) && Number.isFinite(voi.upper)) this.emit("onVoi", voi);
  }

  private onNewImage = (evt: CustomEvent<{ imageIdIndex: number }>) => {
    this.emit("onSlice", evt.detail.imageIdIndex, this.imageCount());
  };

  private onVoiModified = (evt: CustomEvent<{ range?: Voi }>) => {
    const range = evt.detail.range;
    if (range) this.emit("onVoi", { lower: range.lower, upper: range.upper });
  };

  private onCameraModified = () => {
    const view = this.camera();
    if (view) this.emit("onCamera", view);
  };

  private onAnnotationEvent = () => {
    this.emit("onAnnotations");
  };
}

const ANNOTATION_EVENTS = [
  ToolEnums.Events.ANNOTATION_COMPLETED,
  ToolEnums.Events.ANNOTATION_REMOVED,
  ToolEnums.Events.ANNOTATION_MODIFIED,
];

function preventDefault(event: Event): void {
  event.preventDefault();
}

/** Resolves on the element's next `name` event, or after `timeoutMs` regardless. */
function once(element: HTMLElement, name: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      element.removeEventListener(name, done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    element.addEventListener(name, done);
  });
}
