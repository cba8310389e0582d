// The list shell shared by a case's ECGs and slides: loading, error and empty states, a refresh button
// while a file is still being processed, and the requester's upload of another file below the list.

import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import RawFileUpload from "./RawFileUpload";

export interface CaseFileListProps<T extends { id: number }> {
  /** i18n namespace holding `listError`, `empty` and `refresh`. */
  ns: "ecg" | "slides";
  /** Test ids: the list, its empty state, and the upload widget's. */
  testIds: { list: string; empty: string; refresh?: string; upload: { root: string; file: string; done: string; error: string } };
  className: string;
  caseId: number;
  list: (caseId: number, signal: AbortSignal) => Promise<T[]>;
  upload: (caseId: number, file: File) => Promise<{ status: string }>;
  /** The upload widget's label, hint, done and duplicate texts, translated. */
  uploadTexts: { label: string; hint: string; doneText: string; duplicateText: string };
  isPending: (item: T) => boolean;
  renderItem: (item: T) => ReactNode;
  mayUpload: boolean;
  refreshKey?: unknown;
}

export default function CaseFileList<T extends { id: number }>(props: CaseFileListProps<T>) {
  const { ns, testIds, caseId, list, isPending, renderItem, uploadTexts } = props;
  const { t } = useTranslation();
  const [version, setVersion] = useState(0);
  const [load, refresh] = useLoad((signal) => list(caseId, signal), [caseId], `${String(props.refreshKey)}:${version}`);
  const pending = load.status === "ok" && load.data.some(isPending);
  return (
    <div className={props.className}>
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {t(`${ns}.listError`, { message: errorMessage(load.error, t) })}
        </p>
      ) : load.data.length === 0 ? (
        <p className="text-muted" data-testid={testIds.empty}>
          {t(`${ns}.empty`)}
        </p>
      ) : (
        <ul className="study-list" data-testid={testIds.list}>
          {load.data.map(renderItem)}
        </ul>
      )}
      {pending ? (
        <button type="button" className="btn btn-ghost btn-small" data-testid={testIds.refresh} onClick={refresh}>
          {t(`${ns}.refresh`)}
        </button>
      ) : null}
      {props.mayUpload ? (
        <RawFileUpload
          upload={(file) => props.upload(caseId, file)}
          onUploaded={() => setVersion((n) => n + 1)}
          testIds={testIds.upload}
          {...uploadTexts}
        />
      ) : null}
    </div>
  );
}
