// Drop zone, file and folder pickers, and the per-file and overall progress of a case's DICOM uploads.
// The upload itself is src/hooks/useDicomUploads.ts; this only shows it.

import { useEffect, useRef, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import type { DicomUploads, FileEntry } from "../hooks/useDicomUploads";
import { errorMessage } from "../errors";
import { ApiError } from "../api";

function percent(sent: number, total: number): number {
  return total > 0 ? Math.min(100, Math.round((sent / total) * 100)) : 0;
}

function useSize() {
  const { i18n } = useTranslation();
  const format = new Intl.NumberFormat(i18n.language, { maximumFractionDigits: 1 });
  return (bytes: number) =>
    bytes >= 1 << 20 ? `${format.format(bytes / (1 << 20))} MB` : `${format.format(Math.ceil(bytes / 1024))} KB`;
}

function FileRow({ entry, onRemove }: { entry: FileEntry; onRemove?: () => void }) {
  const { t } = useTranslation();
  const size = useSize();
  const value = entry.state === "done" ? 100 : percent(entry.sent, entry.file.size);
  const problem = entry.problem
    ? entry.problem.code === "invalid"
      ? t("upload.invalid", { message: entry.problem.message })
      : entry.problem.code === "insecure_context"
        ? t("upload.insecure")
        : errorMessage(new ApiError(0, entry.problem.code, entry.problem.message), t)
    : null;
  return (
    <li className={`upload-file upload-${entry.state}`} data-testid="upload-file" data-state={entry.state} data-result={entry.result}>
      <span className="upload-name" title={entry.file.webkitRelativePath || entry.file.name}>
        {entry.file.name}
      </span>
      <span className="upload-size text-muted">{size(entry.file.size)}</span>
      <progress className="upload-bar" max={100} value={value} aria-label={t("upload.fileProgress", { name: entry.file.name })} />
      <span className="upload-state">
        {entry.state === "uploading" ? `${value}%` : t(`upload.states.${entry.state}`)}
        {entry.result && entry.result !== "stored" && entry.result !== "invalid" ? ` · ${t(`upload.results.${entry.result}`)}` : ""}
      </span>
      {onRemove && (entry.state === "ready" || entry.state === "skipped" || entry.state === "failed") ? (
        <button type="button" className="btn btn-ghost btn-small" onClick={onRemove} aria-label={t("upload.remove", { name: entry.file.name })}>
          ×
        </button>
      ) : null}
      {problem ? (
        <span className="upload-problem" role="alert">
          {problem}
        </span>
      ) : null}
    </li>
  );
}

export default function DicomUploader({ uploads, disabled = false }: { uploads: DicomUploads; disabled?: boolean }) {
  const { t } = useTranslation();
  const size = useSize();
  const [over, setOver] = useState(false);
  const folderInput = useRef<HTMLInputElement>(null);
  const { entries, progress } = uploads;

  // Folder selection is a non-standard attribute that React's types do not know.
  useEffect(() => {
    folderInput.current?.setAttribute("webkitdirectory", "");
  }, []);

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    if (!disabled) uploads.add(Array.from(event.dataTransfer.files));
  }

  const skipped = entries.filter((e) => e.state === "skipped").length;
  const sending = entries.some((e) => e.state === "uploading" || e.state === "hashing");
  return (
    <div className="uploader" data-testid="uploader">
      <div
        className={`drop-zone${over ? " drop-over" : ""}${disabled ? " drop-disabled" : ""}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p className="drop-title">{t("upload.dropTitle")}</p>
        <p className="text-muted drop-hint">{t("upload.dropHint")}</p>
        <div className="drop-buttons">
          <label className={`btn btn-secondary${disabled ? " disabled" : ""}`}>
            {t("upload.chooseFiles")}
            <input
              type="file"
              multiple
              className="visually-hidden"
              data-testid="upload-input"
              disabled={disabled}
              onChange={(e) => {
                uploads.add(Array.from(e.target.files ?? []));
                e.target.value = "";
              }}
            />
          </label>
          <label className={`btn btn-secondary${disabled ? " disabled" : ""}`}>
            {t("upload.chooseFolder")}
            <input
              ref={folderInput}
              type="file"
              multiple
              className="visually-hidden"
              data-testid="upload-folder"
              disabled={disabled}
              onChange={(e) => {
                uploads.add(Array.from(e.target.files ?? []));
                e.target.value = "";
              }}
            />
          </label>
        </div>
      </div>
      {entries.length > 0 ? (
        <>
          <div className="upload-overall" data-testid="upload-overall" data-percent={percent(progress.sent, progress.total)}>
            <span>
              {t("upload.overall", {
                count: entries.length - skipped,
                sent: size(progress.sent),
                total: size(progress.total),
              })}
              {skipped > 0 ? ` · ${t("upload.skippedCount", { count: skipped })}` : ""}
            </span>
            <progress max={100} value={percent(progress.sent, progress.total)} aria-label={t("upload.overallLabel")} />
            {sending ? <span className="text-muted">{t("upload.resumeHint")}</span> : null}
          </div>
          <ul className="upload-list" data-testid="upload-list">
            {entries.map((entry) => (
              <FileRow key={entry.key} entry={entry} onRemove={uploads.busy ? undefined : () => uploads.remove(entry.key)} />
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
