import { useCallback, useEffect, useRef, useState } from "react";
import type { UploadHandle, UploadResult } from "../uploads";

/** The tus client is loaded with the first file chosen, not with every page of the app. */
const uploader = () => import("../uploads");

export type FileState = "checking" | "skipped" | "ready" | "hashing" | "uploading" | "done" | "failed";

export interface FileEntry {
  key: string;
  file: File;
  state: FileState;
  sent: number;
  result?: UploadResult;
  /** Why it failed or what the server said of an invalid file. */
  problem?: { code: string; message: string };
}

/** Files that count for the overall progress (not the skipped ones). */
function counted(entries: FileEntry[]): FileEntry[] {
  return entries.filter((e) => e.state !== "skipped" && e.state !== "checking");
}

export interface DicomUploads {
  entries: FileEntry[];
  add(files: Iterable<File>): void;
  remove(key: string): void;
  /** Sends every file not yet on the server to the case, one after another; true if all arrived intact. */
  uploadAll(caseId: number): Promise<boolean>;
  busy: boolean;
  /** Bytes on the server and bytes in all, over the files to send. */
  progress: { sent: number; total: number };
}

const keyOf = (file: File) => `${file.webkitRelativePath || file.name}:${file.size}:${file.lastModified}`;

/** The DICOM files chosen for a case and their resumable upload (see src/uploads.ts). */
export function useDicomUploads(): DicomUploads {
  const [entries, setEntries] = useState<FileEntry[]>([]);
  const [busy, setBusy] = useState(false);
  const current = useRef<FileEntry[]>([]);
  current.current = entries;
  const running = useRef<UploadHandle | null>(null);

  // Leaving the page pauses the upload in flight; choosing the same file again resumes it.
  useEffect(() => () => running.current?.pause(), []);

  const update = useCallback((key: string, change: Partial<FileEntry>) => {
    setEntries((list) => list.map((e) => (e.key === key ? { ...e, ...change } : e)));
  }, []);

  const add = useCallback(
    (files: Iterable<File>) => {
      const known = new Set(current.current.map((e) => e.key));
      const fresh: FileEntry[] = [];
      for (const file of files) {
        const key = keyOf(file);
        if (known.has(key)) continue;
        known.add(key);
        fresh.push({ key, file, state: "checking", sent: 0 });
      }
      setEntries((list) => [...list, ...fresh]);
      for (const entry of fresh) {
        void uploader()
          .then(({ looksLikeDicom }) => looksLikeDicom(entry.file))
          .catch(() => false) // a dropped folder cannot be read as a file
          .then((ok) => update(entry.key, { state: ok ? "ready" : "skipped" }));
      }
    },
    [update],
  );

  const remove = useCallback((key: string) => setEntries((list) => list.filter((e) => e.key !== key)), []);

  const uploadAll = useCallback(
    async (caseId: number) => {
      setBusy(true);
      let allArrived = true;
      try {
        const { sha256Hex, uploadToCase, UploadFailure } = await uploader();
        for (const entry of current.current) {
          if (entry.state !== "ready" && entry.state !== "failed") continue;
          update(entry.key, { state: "hashing", problem: undefined });
          try {
            const sha256 = await sha256Hex(entry.file);
            update(entry.key, { state: "uploading" });
            running.current = uploadToCase(entry.file, sha256, caseId, (sent) => update(entry.key, { sent }));
            const { result, detail } = await running.current.done;
            const problem = result === "invalid" ? { code: "invalid", message: detail } : undefined;
            update(entry.key, { state: result === "invalid" ? "failed" : "done", sent: entry.file.size, result, problem });
            if (result === "invalid") allArrived = false;
          } catch (error) {
            allArrived = false;
            const failure = error instanceof UploadFailure ? error : new UploadFailure("error", String(error));
            update(entry.key, { state: "failed", problem: { code: failure.code, message: failure.message } });
          } finally {
            running.current = null;
          }
        }
      } finally {
        setBusy(false);
      }
      return allArrived;
    },
    [update],
  );

  const files = counted(entries);
  const progress = {
    sent: files.reduce((sum, e) => sum + (e.state === "done" ? e.file.size : e.sent), 0),
    total: files.reduce((sum, e) => sum + e.file.size, 0),
  };
  return { entries, add, remove, uploadAll, busy, progress };
}
