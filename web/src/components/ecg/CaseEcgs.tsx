// The ECGs attached to a case, each with its page thumbnail and a link to the viewer; the requester of an
// ECG case attaches another file (any accepted format; the server names the formats when it refuses one).

import { useState } from "react";
import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { ecgPageUrl, listCaseEcgs, uploadEcg, type Ecg } from "../../apis/ecg";
import { formatDateTime } from "../../dates";
import { errorMessage } from "../../errors";
import { useLoad } from "../../hooks/useLoad";
import RawFileUpload from "../RawFileUpload";

function EcgItem({ caseId, ecg }: { caseId: number; ecg: Ecg }) {
  const { t, i18n } = useTranslation();
  return (
    <li className="ecg-item" data-testid="case-ecg" data-ecg-id={ecg.id} data-render-state={ecg.render_state}>
      {ecg.render_state === "ready" ? (
        <img className="ecg-thumb" src={ecgPageUrl(ecg.id, "png")} alt={t("ecg.thumbAlt", { id: ecg.id })} loading="lazy" />
      ) : (
        <span className="ecg-thumb ecg-thumb-empty">{t(`ecg.render.${ecg.render_state === "failed" ? "failed" : "pending"}`)}</span>
      )}
      <span className="ecg-item-text">
        <span className="study-desc">{ecg.format_name}</span>
        <span className="text-muted">
          {[
            t("ecg.leadCount", { count: ecg.leads.length }),
            `${ecg.sampling_rate} Hz`,
            `${ecg.duration_s.toFixed(1)} s`,
            ecg.device || t("ecg.noDevice"),
            ecg.acquired_at ? formatDateTime(ecg.acquired_at, i18n.language) : null,
          ]
            .filter(Boolean)
            .join(" · ")}
        </span>
        {ecg.render_state === "failed" && ecg.render_error ? <span className="form-error">{ecg.render_error}</span> : null}
      </span>
      <Link className="btn btn-secondary btn-small" data-testid="ecg-open" to={`/cases/${caseId}/ecgs/${ecg.id}`}>
        {t("ecg.open")}
      </Link>
    </li>
  );
}

function AttachEcg({ caseId, onAttached }: { caseId: number; onAttached: () => void }) {
  const { t } = useTranslation();
  return (
    <RawFileUpload
      upload={(file) => uploadEcg(caseId, file)}
      onUploaded={onAttached}
      testIds={{ root: "ecg-attach", file: "ecg-file", done: "ecg-attached", error: "ecg-attach-error" }}
      label={t("ecg.attach")}
      hint={t("ecg.attachHint")}
      doneText={t("ecg.attached")}
      duplicateText={t("ecg.duplicate")}
    />
  );
}

export default function CaseEcgs({ caseId, mayAttach, refreshKey }: { caseId: number; mayAttach: boolean; refreshKey?: unknown }) {
  const { t } = useTranslation();
  const [version, setVersion] = useState(0);
  const [load, refresh] = useLoad((signal) => listCaseEcgs(caseId, signal), [caseId], `${String(refreshKey)}:${version}`);
  const pending = load.status === "ok" && load.data.some((ecg) => ecg.render_state === "pending");
  return (
    <div className="case-ecgs">
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {t("ecg.listError", { message: errorMessage(load.error, t) })}
        </p>
      ) : load.data.length === 0 ? (
        <p className="text-muted" data-testid="case-ecgs-empty">
          {t("ecg.empty")}
        </p>
      ) : (
        <ul className="study-list" data-testid="case-ecgs">
          {load.data.map((ecg) => (
            <EcgItem key={ecg.id} caseId={caseId} ecg={ecg} />
          ))}
        </ul>
      )}
      {pending ? (
        <button type="button" className="btn btn-ghost btn-small" onClick={refresh}>
          {t("ecg.refresh")}
        </button>
      ) : null}
      {mayAttach ? <AttachEcg caseId={caseId} onAttached={() => setVersion((n) => n + 1)} /> : null}
    </div>
  );
}
