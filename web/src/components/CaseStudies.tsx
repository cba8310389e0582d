import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { listCaseStudies } from "../api";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { formatDicomDate } from "../viewer/dicom";

/** The imaging studies attached to a case, each opening the viewer; `refreshKey` reloads them in place. */
export default function CaseStudies({ caseId, refreshKey }: { caseId: number; refreshKey?: unknown }) {
  const { t } = useTranslation();
  const [load] = useLoad((signal) => listCaseStudies(caseId, signal), [caseId], refreshKey);
  if (load.status === "loading") {
    return (
      <p className="loading" role="status">
        {t("common.loading")}
      </p>
    );
  }
  if (load.status === "error") {
    return (
      <p className="form-error" role="alert">
        {t("caseImages.loadError", { message: errorMessage(load.error, t) })}
      </p>
    );
  }
  if (load.data.length === 0) {
    return (
      <p className="text-muted" data-testid="case-studies-empty">
        {t("caseImages.empty")}
      </p>
    );
  }
  return (
    <>
      <ul className="study-list" data-testid="case-studies">
        {load.data.map((study) => (
          <li key={study.study_uid} className="study-item" data-testid="case-study" data-study-uid={study.study_uid}>
            <span className="study-desc">{study.description || t("viewer.noDescription")}</span>
            <span className="text-muted">
              {[formatDicomDate(study.study_date), study.modalities.join(" / "), t("viewer.imageCount", { count: study.instance_count })]
                .filter(Boolean)
                .join(" · ")}
            </span>
            <Link className="btn btn-secondary btn-small" to={`/viewer/${encodeURIComponent(study.study_uid)}?case=${caseId}`}>
              {t("caseImages.open")}
            </Link>
          </li>
        ))}
      </ul>
      <Link to={`/cases/${caseId}/images`} className="images-link">
        {t("casePage.allImages")}
      </Link>
    </>
  );
}
