// The OpenSeadragon side of the slide viewer: one tiled image from our DZI layout (tiles fetched as plain
// same-origin images, so the session cookie goes with them), clicks turned into base-level image points,
// and the numbers the page and the tests read (zoom in screen px per image px, the deep-zoom level drawn,
// tiles loaded per level).

import OpenSeadragon from "openseadragon";
import type { DeepZoom } from "../apis/slides";
import type { Point } from "./measure";

/** Where the view is, as the shared viewer sends it: the centre in OpenSeadragon viewport coordinates
 * (fractions of the image's width) and its zoom (1: the image's width fills the viewer). */
export interface SlideView {
  x: number;
  y: number;
  zoom: number;
}

export interface DeepZoomViewer {
  /** CSS px on screen per base-level image pixel. */
  zoom(): number;
  /** The deep-zoom level whose pixels are closest to (not coarser than) the screen's at this zoom. */
  level(): number;
  maxLevel(): number;
  tilesLoaded(level: number): number;
  tileErrors(): number;
  fullyLoaded(): boolean;
  zoomBy(factor: number): void;
  home(): void;
  toScreen(p: Point): Point;
  /** The image is open (a view can be set). */
  isOpen(): boolean;
  /** The view being moved to (the animation's target). */
  view(): SlideView;
  setView(view: SlideView): void;
  destroy(): void;
}

export interface ViewerEvents {
  /** A quick click (not a drag) on the slide, in base-level image pixels. */
  onClick(p: Point, double: boolean): void;
  /** The view moved or zoomed (every animation frame), or more tiles arrived. */
  onChange(): void;
}

export function openDeepZoom(element: HTMLElement, zoom: DeepZoom, tilesUrl: string, events: ViewerEvents): DeepZoomViewer {
  // The DZI descriptor inline, with `Url` the tiles' base: OpenSeadragon would otherwise derive it from a
  // `.dzi` file name, which our `/dzi` path does not have.
  const source = {
    Image: {
      xmlns: "http://schemas.microsoft.com/deepzoom/2008",
      Url: tilesUrl,
      Format: zoom.format,
      Overlap: String(zoom.overlap),
      TileSize: String(zoom.tileSize),
      Size: { Width: String(zoom.width), Height: String(zoom.height) },
    },
  };
  const viewer = OpenSeadragon({
    element,
    tileSources: source,
    showNavigationControl: false, // our own toolbar; the default buttons need image files
    showNavigator: true,
    navigatorPosition: "BOTTOM_RIGHT",
    gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false },
    animationTime: 0.4,
    maxZoomPixelRatio: 2,
    preserveImageSizeOnResize: true, // the magnification stays when the window or the panels change size
  });
  const maxLevel = Math.ceil(Math.log2(Math.max(zoom.width, zoom.height)));
  const loaded = new Map<number, number>();
  let errors = 0;
  const image = () => viewer.world.getItemAt(0);

  viewer.addHandler("canvas-click", (e) => {
    if (!e.quick || !image()) return;
    const p = image().viewerElementToImageCoordinates(e.position);
    events.onClick({ x: p.x, y: p.y }, false);
  });
  viewer.addHandler("canvas-double-click", (e) => {
    if (!image()) return;
    const p = image().viewerElementToImageCoordinates(e.position);
    events.onClick({ x: p.x, y: p.y }, true);
  });
  viewer.addHandler("tile-loaded", (e) => {
    loaded.set(e.tile.level, (loaded.get(e.tile.level) ?? 0) + 1);
    events.onChange();
  });
  viewer.addHandler("tile-load-failed", () => {
    errors += 1;
  });
  viewer.addHandler("update-viewport", () => events.onChange());
  viewer.addHandler("open", () => events.onChange());

  const current = () => (image() ? image().viewportToImageZoom(viewer.viewport.getZoom(true)) : 0);
  return {
    zoom: current,
    level() {
      const z = current() * (window.devicePixelRatio || 1);
      if (!z) return 0;
      return Math.max(0, Math.min(maxLevel, maxLevel + Math.ceil(Math.log2(z) - 1e-9)));
    },
    maxLevel: () => maxLevel,
    tilesLoaded: (level) => loaded.get(level) ?? 0,
    tileErrors: () => errors,
    fullyLoaded: () => Boolean(image()?.getFullyLoaded()),
    zoomBy(factor) {
      viewer.viewport.zoomBy(factor);
      viewer.viewport.applyConstraints();
    },
    home: () => viewer.viewport.goHome(),
    toScreen(p) {
      const s = image() ? image().imageToViewerElementCoordinates(new OpenSeadragon.Point(p.x, p.y)) : { x: 0, y: 0 };
      return { x: s.x, y: s.y };
    },
    isOpen: () => Boolean(image()),
    view() {
      const centre = viewer.viewport.getCenter(false);
      return { x: centre.x, y: centre.y, zoom: viewer.viewport.getZoom(false) };
    },
    setView({ x, y, zoom: level }) {
      viewer.viewport.zoomTo(level, undefined, true);
      viewer.viewport.panTo(new OpenSeadragon.Point(x, y), true);
    },
    destroy: () => viewer.destroy(),
  };
}
