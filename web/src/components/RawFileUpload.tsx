// One file chosen and sent as the raw request body (ECG records, slides): busy while it goes, then the
// server's word — stored or already there (duplicate) — or its error in the user's language.

import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { errorMessage } from "../errors";

export interface RawFileUploadProps {
  upload: (file: File) => Promise<{ status: string }>;
  onUploaded: () => void;
  /** Test ids of the root, the file input, the done line (with `data-status`) and the error line. */
  testIds: { root: string; file: string; done: string; error: string };
  label: string;
  hint: string;
  doneText: string;
  duplicateText: string;
}

type State = { kind: "idle" | "busy" } | { kind: "done"; status: string } | { kind: "error"; message: string };

export default function RawFileUpload({ upload, onUploaded, testIds, label, hint, doneText, duplicateText }: RawFileUploadProps) {
  const { t } = useTranslation();
  const input = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<State>({ kind: "idle" });
  async function send(file: File) {
    setState({ kind: "busy" });
    try {
      const result = await upload(file);
      setState({ kind: "done", status: result.status });
      onUploaded();
    } catch (err) {
      setState({ kind: "error", message: errorMessage(err, t) });
    } finally {
      if (input.current) input.current.value = "";
    }
  }
  return (
    <div className="ecg-attach" data-testid={testIds.root}>
      <label className="field">
        <span className="field-label">{label}</span>
        <input
          ref={input}
          type="file"
          data-testid={testIds.file}
          disabled={state.kind === "busy"}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void send(file);
          }}
        />
      </label>
      <span className="text-muted">{hint}</span>
      {state.kind === "busy" ? <p className="loading">{t("upload.uploading")}</p> : null}
      {state.kind === "done" ? (
        <p className="form-ok" data-testid={testIds.done} data-status={state.status}>
          {state.status === "duplicate" ? duplicateText : doneText}
        </p>
      ) : null}
      {state.kind === "error" ? (
        <p className="form-error" role="alert" data-testid={testIds.error}>
          {state.message}
        </p>
      ) : null}
    </div>
  );
}
