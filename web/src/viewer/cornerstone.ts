// Cornerstone3D set-up, once per page load: the rendering core, the DICOM image loader
// (decoding in web workers with WASM codecs) and the tools this viewer offers.

import { Enums, imageRetrievalPoolManager, init as coreInit } from "@cornerstonejs/core";
import { init as loaderInit } from "@cornerstonejs/dicom-image-loader";
import {
  AngleTool,
  EllipticalROITool,
  LengthTool,
  PanTool,
  RectangleROITool,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
  addTool,
  init as toolsInit,
} from "@cornerstonejs/tools";

/** Tools the viewer registers; the measurement ones are saved as annotations. */
export const MEASUREMENT_TOOLS = [LengthTool.toolName, AngleTool.toolName, RectangleROITool.toolName, EllipticalROITool.toolName];

let ready: Promise<void> | null = null;

export function initCornerstone(): Promise<void> {
  if (!ready) {
    ready = (async () => {
      coreInit();
      const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency || 2 : 2;
      // The codecs' .wasm files are emitted by Vite as hashed assets next to the worker
      // (new URL("@cornerstonejs/codec-…/decodewasm", import.meta.url) in the loader).
      loaderInit({ maxWebWorkers: Math.max(1, Math.min(4, Math.floor(cores / 2))) });
      // Few frame requests in flight at once: over a slow HTTP/1.1 link the browser's six
      // connections must stay free for the slice the reader scrolls to, thumbnails and the API,
      // instead of queueing behind a whole series of prefetches.
      imageRetrievalPoolManager.setMaxSimultaneousRequests(Enums.RequestType.Interaction, 4);
      imageRetrievalPoolManager.setMaxSimultaneousRequests(Enums.RequestType.Prefetch, 2);
      imageRetrievalPoolManager.setMaxSimultaneousRequests(Enums.RequestType.Thumbnail, 2);
      toolsInit();
      for (const tool of [
        WindowLevelTool,
        PanTool,
        ZoomTool,
        StackScrollTool,
        LengthTool,
        AngleTool,
        RectangleROITool,
        EllipticalROITool,
      ]) {
        addTool(tool);
      }
    })();
  }
  return ready;
}
