// Resumable upload of DICOM files to a case over tus 1.0 (POST/HEAD/PATCH /api/uploads, see
// server/api/uploads.py and the README's "Uploading from a clinic PC").
//
// Each file's SHA-256 is computed first (the server requires it at creation and checks the whole file
// against it). tus-js-client keeps the upload's URL in localStorage under a fingerprint made of the case
// and that digest, so after a dropped line, or even a closed tab, the same file continues from the last
// byte the server kept.

import { DetailedError, Upload } from "tus-js-client";
import { csrfHeaders, request } from "./api";
import type { Upload as UploadRecord } from "./schema";

export const UPLOAD_ENDPOINT = "/api/uploads";
/** The same chunk size as the `telemed upload` command: a dropped chunk costs at most this much again. */
const CHUNK_SIZE = 1 << 20;
/** Pauses between retries of a failed request (network down, 423 locked, 5xx), in ms. */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000];

/** What the server made of a finished file (`Upload-Result`). */
export type UploadResult = "stored" | "duplicate" | "conflict" | "invalid";

/** A file the server refused or could not take; `code` is the server's error code when it sent one. */
export class UploadFailure extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "UploadFailure";
    this.code = code;
  }
}

/** Whether the file carries the DICOM Part 10 marker "DICM" at byte 128, as the CLI checks. */
export async function looksLikeDicom(file: Blob): Promise<boolean> {
  if (file.size < 132) return false;
  const marker = new Uint8Array(await file.slice(128, 132).arrayBuffer());
  return String.fromCharCode(...marker) === "DICM";
}

export async function sha256Hex(file: Blob): Promise<string> {
  if (!globalThis.crypto?.subtle) {
    // crypto.subtle exists only on HTTPS (or localhost) pages.
    throw new UploadFailure("insecure_context", "crypto.subtle unavailable");
  }
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function failureOf(error: Error): UploadFailure {
  if (error instanceof DetailedError && error.originalResponse) {
    let body: { error?: unknown; detail?: unknown } = {};
    try {
      body = JSON.parse(error.originalResponse.getBody() || "{}") as typeof body;
    } catch {
      // not JSON: keep the status
    }
    const status = error.originalResponse.getStatus();
    const code = typeof body.error === "string" ? body.error : `http_${status}`;
    return new UploadFailure(code, typeof body.detail === "string" ? body.detail : error.message);
  }
  return new UploadFailure("network_error", error.message);
}

/** Why the server called a finished file invalid (GET /api/uploads/{id}). */
async function uploadDetail(url: string | null): Promise<string> {
  if (!url) return "";
  try {
    const info = await request<UploadRecord>("GET", new URL(url, window.location.href).pathname);
    return info.detail ?? "";
  } catch {
    return "";
  }
}

export interface UploadHandle {
  /** Settles when the file is on the server (with what became of it) or has finally failed. */
  done: Promise<{ result: UploadResult; detail: string }>;
  /** Stops sending; what arrived stays on the server, and the next upload of this file resumes there. */
  pause(): void;
}

/** Starts (or resumes) sending `file` to case `caseId`; `onProgress` gets bytes the server has. */
export function uploadToCase(
  file: File,
  sha256: string,
  caseId: number,
  onProgress: (sent: number, total: number) => void,
): UploadHandle {
  let result: string | undefined;
  let upload: Upload | null = null;
  const done = new Promise<{ result: UploadResult; detail: string }>((resolve, reject) => {
    upload = new Upload(file, {
      endpoint: UPLOAD_ENDPOINT,
      metadata: { filename: file.name, filetype: "application/dicom", sha256, case_id: String(caseId) },
      headers: csrfHeaders(),
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      fingerprint: async () => `telemed-upload:${caseId}:${sha256}`,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress,
      onAfterResponse: (_req, res) => {
        result = res.getHeader("Upload-Result") ?? result;
      },
      onSuccess: () => {
        const outcome = (result ?? "stored") as UploadResult;
        if (outcome === "invalid") {
          void uploadDetail(upload?.url ?? null).then((detail) => resolve({ result: outcome, detail }));
        } else {
          resolve({ result: outcome, detail: "" });
        }
      },
      onError: (error) => reject(failureOf(error)),
    });
    const started = upload;
    started
      .findPreviousUploads()
      .then((previous) => {
        if (previous.length > 0) started.resumeFromPreviousUpload(previous[0]);
        started.start();
      })
      .catch((error: Error) => reject(failureOf(error)));
  });
  return {
    done,
    pause: () => void (upload as Upload | null)?.abort(false),
  };
}
