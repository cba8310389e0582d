// The ECGs attached to a case, each with its page thumbnail and a link to the viewer; the requester of an
// ECG case attaches another file (any accepted format; the server names the formats when it refuses one).

import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { ecgPageUrl, listCaseEcgs, uploadEcg, type Ecg } from "../../apis/ecg";
import { formatDateTime } from "../../dates";
import CaseFileList from "../CaseFileList";

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

export default function CaseEcgs({ caseId, mayAttach, refreshKey }: { caseId: number; mayAttach: boolean; refreshKey?: unknown }) {
  const { t } = useTranslation();
  return (
    <CaseFileList<Ecg>
      ns="ecg"
      className="case-ecgs"
      testIds={{
        list: "case-ecgs",
        empty: "case-ecgs-empty",
        upload: { root: "ecg-attach", file: "ecg-file", done: "ecg-attached", error: "ecg-attach-error" },
      }}
      caseId={caseId}
      list={listCaseEcgs}
      upload={uploadEcg}
      uploadTexts={{ label: t("ecg.attach"), hint: t("ecg.attachHint"), doneText: t("ecg.attached"), duplicateText: t("ecg.duplicate") }}
      isPending={(ecg) => ecg.render_state === "pending"}
      renderItem={(ecg) => <EcgItem key={ecg.id} caseId={caseId} ecg={ecg} />}
      mayUpload={mayAttach}
      refreshKey={refreshKey}
    />
  );
}
