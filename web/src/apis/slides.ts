// A case's whole-slide images (server/api/slides.py): list, one slide's de-identified metadata, its deep-zoom
// descriptor and tile URLs, and the upload of a slide file as the raw (streamed) request body.

import { ApiError, postFile, request } from "../api";
import type { Slide, SlideAnnotation, SlideAnnotationInput, SlideAnnotations, SlideAnnotationsInput, Slides, StoredSlide } from "../schema";

export type { Slide, StoredSlide } from "../schema";

/** What the viewer needs from the DZI descriptor to address tiles itself. */
export interface DeepZoom {
  width: number;
  height: number;
  tileSize: number;
  overlap: number;
  format: string;
}

const slidePath = (slideId: number | string) => `/api/slides/${encodeURIComponent(String(slideId))}`;

export async function listCaseSlides(caseId: number | string, signal?: AbortSignal): Promise<Slide[]> {
  const data = await request<Slides>("GET", `/api/cases/${encodeURIComponent(String(caseId))}/slides`, { signal });
  return data.items ?? [];
}

export function getSlide(slideId: number | string, signal?: AbortSignal): Promise<Slide> {
  return request<Slide>("GET", slidePath(slideId), { signal });
}

export function slideThumbnailUrl(slideId: number | string): string {
  return `${slidePath(slideId)}/thumbnail.jpeg`;
}

/** Tile URLs are `<this>{level}/{col}_{row}.{format}` — the DZI layout under our own path. */
export function slideTilesUrl(slideId: number | string): string {
  return `${slidePath(slideId)}/tiles/`;
}

/** The server's DZI XML parsed; the session cookie goes with it (same origin). `base`: the slide's path
 * (the teaching library serves its copies under another one, with the same sub-paths). */
export async function getDeepZoom(slideId: number | string, signal?: AbortSignal, base = slidePath(slideId)): Promise<DeepZoom> {
  let response: Response;
  try {
    response = await fetch(`${base}/dzi`, { credentials: "same-origin", signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, "network_error", null);
  }
  if (!response.ok) throw new ApiError(response.status, `http_${response.status}`, null);
  const doc = new DOMParser().parseFromString(await response.text(), "application/xml");
  const image = doc.documentElement;
  const size = image.getElementsByTagNameNS("*", "Size")[0];
  const number = (el: Element | undefined, name: string) => Number(el?.getAttribute(name));
  const zoom = {
    width: number(size, "Width"),
    height: number(size, "Height"),
    tileSize: number(image, "TileSize"),
    overlap: number(image, "Overlap"),
    format: image.getAttribute("Format") ?? "jpeg",
  };
  if (![zoom.width, zoom.height, zoom.tileSize].every((n) => Number.isFinite(n) && n > 0)) {
    throw new ApiError(502, "invalid_dzi", null);
  }
  return zoom;
}

/** The file goes as the raw body (streamed by the server to disk). */
export function uploadSlide(caseId: number | string, file: File): Promise<StoredSlide> {
  return postFile(`/api/cases/${encodeURIComponent(String(caseId))}/slides`, file);
}

/** A saved mark as the server returns it: base-level pixel points, µm figures from the slide's calibration. */
export type SavedSlideAnnotation = SlideAnnotation;

export async function listSlideAnnotations(slideId: number | string, signal?: AbortSignal): Promise<SavedSlideAnnotation[]> {
  return (await request<SlideAnnotations>("GET", `${slidePath(slideId)}/annotations`, { signal })).items;
}

/** Replace the caller's own marks on the slide; answers every reader's marks as saved. */
export async function saveSlideAnnotations(
  slideId: number | string,
  items: SlideAnnotationInput[],
): Promise<SavedSlideAnnotation[]> {
  const body: SlideAnnotationsInput = { items };
  return (await request<SlideAnnotations>("POST", `${slidePath(slideId)}/annotations`, { body })).items;
}
