// Thin client for the platform's JSON API (same origin, cookie session).
//
// The session cookie is HttpOnly and sent by the browser; the CSRF token from
// login / me is kept here in memory only and sent as X-CSRF-Token on every
// unsafe request (POST/PUT/PATCH/DELETE).

import type {
  Annotation,
  AnnotationInput,
  Annotations,
  AnnotationsInput,
  CaseActionBody,
  CaseActionResult,
  CaseDetail,
  CaseEvent,
  CaseEventList,
  CaseKind,
  CaseList,
  CaseStudies,
  CaseStudy,
  CaseSummary,
  CreateCaseBody,
  CreatedShareLink,
  DicomDataset,
  DicomDatasets,
  LoginBody,
  Notification,
  NotificationList,
  Report,
  ReportDraftBody,
  ReportList,
  ReportTemplate,
  Session,
  SharedLinkInfo,
  ShareLink,
  ShareLinkInput,
  ShareLinks,
  Worklist,
  WorklistItem,
} from "./schema";
import type { CaseAction, WorklistQuery } from "./types";

export class ApiError extends Error {
  /** HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** Machine-readable code from {"error": ...}, or "network_error" / "http_<status>". */
  readonly code: string;
  /** Human-readable message from {"detail": ...}, if the server sent one. */
  readonly detail: string | null;
  /** Seconds to wait, for 429 responses (body retry_after or Retry-After header). */
  readonly retryAfter: number | null;
  /** The error body's other fields (e.g. `field`, `missing`, `state`), for a precise message. */
  readonly extra: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    detail: string | null,
    retryAfter: number | null = null,
    extra: Record<string, unknown> = {},
  ) {
    super(detail ?? code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.extra = extra;
  }
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The CSRF header for unsafe requests made outside `request` (the tus uploader). */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { "X-CSRF-Token": csrfToken } : {};
}

/** Called when a request (other than login/me) answers 401: the session has ended. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Do not call the global 401 handler (login and me handle 401 themselves). */
  quiet401?: boolean;
  /** Accept header; JSON by default (DICOMweb answers application/dicom+json). */
  accept?: string;
}

function parseRetryAfter(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  return null;
}

export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json" };
  const unsafe = method !== "GET";
  if (unsafe) {
    headers["Content-Type"] = "application/json";
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  }

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: unsafe ? JSON.stringify(options.body ?? {}) : undefined,
      signal: options.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", null);
  }

  if (response.status === 204) return undefined as T;

  let data: unknown = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }

  if (!response.ok) {
    const body = (data && typeof data === "object" ? data : {}) as Record<string, unknown>;
    const code = typeof body.error === "string" ? body.error : `http_${response.status}`;
    const detail = typeof body.detail === "string" && body.detail ? body.detail : null;
    let retryAfter: number | null = null;
    if (response.status === 429) {
      retryAfter =
        typeof body.retry_after === "number"
          ? Math.max(0, Math.ceil(body.retry_after))
          : parseRetryAfter(response.headers.get("Retry-After"));
    }
    if (response.status === 401 && !options.quiet401) onUnauthorized?.();
    const { error: _error, detail: _detail, ...extra } = body;
    throw new ApiError(response.status, code, detail, retryAfter, extra);
  }
  return data as T;
}

// ---- auth -----------------------------------------------------------------

/** POSTs `file` as the raw request body (not JSON, not multipart), its name in the `filename` query. */
export async function postFile<T>(path: string, file: File): Promise<T> {
  const url = `${path}?filename=${encodeURIComponent(file.name)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", Accept: "application/json", ...csrfHeaders() },
      body: file,
    });
  } catch {
    throw new ApiError(0, "network_error", null);
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const code = typeof body.error === "string" ? body.error : `http_${response.status}`;
    throw new ApiError(response.status, code, typeof body.detail === "string" ? body.detail : null, null, body);
  }
  return body as T;
}

export async function login(username: string, password: string): Promise<Session> {
  const body: LoginBody = { username, password };
  const session = await request<Session>("POST", "/api/auth/login", {
    body,
    quiet401: true,
  });
  setCsrfToken(session.csrf_token);
  return session;
}

/** The current session, or null when not logged in (401). */
export async function me(signal?: AbortSignal): Promise<Session | null> {
  try {
    const session = await request<Session>("GET", "/api/auth/me", { signal, quiet401: true });
    setCsrfToken(session.csrf_token);
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      setCsrfToken(null);
      return null;
    }
    throw err;
  }
}

export async function logout(): Promise<void> {
  try {
    await request<void>("POST", "/api/auth/logout", { quiet401: true });
  } finally {
    setCsrfToken(null);
  }
}

// ---- cases ----------------------------------------------------------------

export async function listCases(signal?: AbortSignal): Promise<CaseSummary[]> {
  const data = await request<CaseList>("GET", "/api/cases", { signal });
  return data.items ?? [];
}

/** Imaging studies attached to a case. */
export async function listCaseStudies(caseId: number | string, signal?: AbortSignal): Promise<CaseStudy[]> {
  const data = await request<CaseStudies>("GET", `/api/cases/${encodeURIComponent(String(caseId))}/studies`, { signal });
  return data.items ?? [];
}

// ---- annotations (measurements drawn in the viewer) -----------------------

export async function listAnnotations(caseId: number | string, studyUid: string, signal?: AbortSignal): Promise<Annotation[]> {
  const query = `?study_uid=${encodeURIComponent(studyUid)}`;
  const data = await request<Annotations>("GET", `/api/cases/${encodeURIComponent(String(caseId))}/annotations${query}`, {
    signal,
  });
  return data.items ?? [];
}

/**
 * Replaces the current user's annotations on the study with `items` (an empty list clears them):
 * `study_uids` names the study even when no item does.
 */
export async function saveAnnotations(caseId: number | string, items: AnnotationInput[], studyUid: string): Promise<Annotation[]> {
  const body: AnnotationsInput = { items, study_uids: [studyUid] };
  const data = await request<Annotations>("POST", `/api/cases/${encodeURIComponent(String(caseId))}/annotations`, {
    body,
  });
  return data.items ?? [];
}

// ---- DICOMweb (QIDO-RS / WADO-RS, PS3.18) -------------------------------------

/** A DICOM JSON dataset (PS3.18 F.2): 8-hex tag → {vr, Value}. */
export type DicomJson = DicomDataset;

const DICOM_JSON = "application/dicom+json, application/json;q=0.9";

/** The DICOMweb root of a signed-in user. */
export const DICOMWEB = "/dicomweb";

/** The DICOMweb root an outside expert reaches through a share link: the same endpoints, one study. */
export function sharedDicomweb(token: string): string {
  return `/share/${encodeURIComponent(token)}/dicomweb`;
}

export function dicomwebStudyPath(studyUid: string, root: string = DICOMWEB): string {
  return `${root}/studies/${encodeURIComponent(studyUid)}`;
}

export function dicomwebSeriesPath(studyUid: string, seriesUid: string, root: string = DICOMWEB): string {
  return `${dicomwebStudyPath(studyUid, root)}/series/${encodeURIComponent(seriesUid)}`;
}

export async function findStudy(studyUid: string, signal?: AbortSignal, root: string = DICOMWEB): Promise<DicomJson | null> {
  const data = await request<DicomDatasets | null>("GET", `${root}/studies?StudyInstanceUID=${encodeURIComponent(studyUid)}`, {
    signal,
    accept: DICOM_JSON,
  });
  return data?.[0] ?? null;
}

export async function listSeries(studyUid: string, signal?: AbortSignal, root: string = DICOMWEB): Promise<DicomJson[]> {
  return (await request<DicomDatasets | null>("GET", `${dicomwebStudyPath(studyUid, root)}/series`, { signal, accept: DICOM_JSON })) ?? [];
}

export async function seriesMetadata(
  studyUid: string,
  seriesUid: string,
  signal?: AbortSignal,
  root: string = DICOMWEB,
): Promise<DicomJson[]> {
  return (
    (await request<DicomDatasets | null>("GET", `${dicomwebSeriesPath(studyUid, seriesUid, root)}/metadata`, { signal, accept: DICOM_JSON })) ??
    []
  );
}

// ---- share links for outside experts ----------------------------------------

export async function listShareLinks(caseId: number | string, signal?: AbortSignal): Promise<ShareLink[]> {
  const data = await request<ShareLinks>("GET", `/api/cases/${encodeURIComponent(String(caseId))}/share-links`, { signal });
  return data.items ?? [];
}

export async function createShareLink(caseId: number | string, input: ShareLinkInput): Promise<CreatedShareLink> {
  return request<CreatedShareLink>("POST", `/api/cases/${encodeURIComponent(String(caseId))}/share-links`, { body: input });
}

export async function revokeShareLink(linkId: number): Promise<ShareLink> {
  return request<ShareLink>("POST", `/api/share-links/${linkId}/revoke`);
}

/** What a share link opens, asked with the link's token (no session needed). */
export async function sharedLinkInfo(token: string, signal?: AbortSignal): Promise<SharedLinkInfo> {
  return request<SharedLinkInfo>("GET", `/share/${encodeURIComponent(token)}/link`, { signal });
}

// ---- the case workflow ------------------------------------------------------

function casePath(caseId: number | string, rest = ""): string {
  return `/api/cases/${encodeURIComponent(String(caseId))}${rest}`;
}

export async function getCase(caseId: number | string, signal?: AbortSignal): Promise<CaseDetail> {
  return request<CaseDetail>("GET", casePath(caseId), { signal });
}

export async function createCase(input: CreateCaseBody): Promise<CaseDetail> {
  return request<CaseDetail>("POST", "/api/cases", { body: input });
}

/** One step of the case's lifecycle; the body carries what the action needs (note, expert, assignee, ...). */
export async function caseAction(
  caseId: number | string,
  action: CaseAction,
  body: CaseActionBody = {},
): Promise<CaseActionResult> {
  return request<CaseActionResult>("POST", casePath(caseId, `/actions/${encodeURIComponent(action)}`), { body });
}

export async function listCaseEvents(caseId: number | string, signal?: AbortSignal): Promise<CaseEvent[]> {
  const data = await request<CaseEventList>("GET", casePath(caseId, "/events"), { signal });
  return data.items ?? [];
}

export async function reportTemplate(kind: CaseKind, signal?: AbortSignal): Promise<ReportTemplate> {
  return request<ReportTemplate>("GET", `/api/report-templates/${encodeURIComponent(kind)}`, { signal });
}

/** Every version of the case's report, oldest first (drafts included). */
export async function listReports(caseId: number | string, signal?: AbortSignal): Promise<Report[]> {
  const data = await request<ReportList>("GET", casePath(caseId, "/reports"), { signal });
  return data.items ?? [];
}

export async function saveReportDraft(caseId: number | string, content: ReportDraftBody["content"]): Promise<Report> {
  const body: ReportDraftBody = { content };
  return request<Report>("PUT", casePath(caseId, "/report"), { body });
}

export async function fetchWorklist(query: WorklistQuery, signal?: AbortSignal): Promise<WorklistItem[]> {
  const params = new URLSearchParams({ sort: query.sort });
  for (const key of ["status", "kind", "urgency", "institution"] as const) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  if (query.overdue) params.set("overdue", "true");
  if (query.mine) params.set("mine", "true");
  const data = await request<Worklist>("GET", `/api/worklist?${params}`, { signal });
  return data.items ?? [];
}

/** The live worklist stream (server-sent events, same-origin cookie). */
export const WORKLIST_STREAM = "/api/worklist/stream";

export async function listNotifications(signal?: AbortSignal): Promise<Notification[]> {
  const data = await request<NotificationList>("GET", "/api/notifications", { signal });
  return data.items ?? [];
}

export async function markNotificationRead(notificationId: number): Promise<Notification> {
  return request<Notification>("POST", `/api/notifications/${notificationId}/read`);
}
