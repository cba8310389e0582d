import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { listCaseStudies } from "../api";
import { errorMessage } from "../errors";
import type { PageDef } from "../routes";
import type { CaseStudy } from "../types";
import PageHeader from "../components/PageHeader";
import Panel from "../components/Panel";
import ShareLinksPanel from "../components/ShareLinksPanel";
import { formatDicomDate } from "../viewer/dicom";

type Load = { status: "loading" } | { status: "error"; error: unknown } | { status: "ok"; studies: CaseStudy[] };

/** The imaging studies of one case (GET /api/cases/{id}/studies), each opening the viewer, and their share links. */
export default function CaseImagesPage(_props: { page: PageDef }) {
  const { t } = useTranslation();
  const { caseId = "" } = useParams();
  const [load, setLoad] = useState<Load>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoad({ status: "loading" });
    listCaseStudies(caseId, controller.signal)
      .then((studies) => setLoad({ status: "ok", studies }))
      .catch((error: unknown) => {
        if (!controller.signal.aborted) setLoad({ status: "error", error });
      });
    return () => controller.abort();
  }, [caseId, attempt]);

  return (
    <div className="page">
      <PageHeader
        title={t("caseImages.title", { id: caseId })}
        actions={
          <Link to="/" className="btn btn-secondary">
            {t("caseImages.back")}
          </Link>
        }
      />
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <Panel tone="error" title={t("caseImages.loadError", { message: errorMessage(load.error, t) })} testId="studies-error">
          <button type="button" className="btn btn-secondary" onClick={() => setAttempt((n) => n + 1)}>
            {t("common.retry")}
          </button>
        </Panel>
      ) : load.studies.length === 0 ? (
        <Panel title={t("caseImages.empty")} testId="studies-empty">
          <p>{t("caseImages.emptyHint")}</p>
        </Panel>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="study-table">
            <thead>
              <tr>
                <th scope="col">{t("caseImages.columns.date")}</th>
                <th scope="col">{t("caseImages.columns.description")}</th>
                <th scope="col">{t("caseImages.columns.modalities")}</th>
                <th scope="col">{t("caseImages.columns.series")}</th>
                <th scope="col">{t("caseImages.columns.images")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("caseImages.columns.open")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {load.studies.map((study) => (
                <tr key={study.study_uid} data-testid="study-row" data-study-uid={study.study_uid}>
                  <td className="cell-time">{formatDicomDate(study.study_date) || t("common.none")}</td>
                  <td>{study.description || t("viewer.noDescription")}</td>
                  <td>{study.modalities.join(" / ") || t("common.none")}</td>
                  <td>{study.series_count}</td>
                  <td>{study.instance_count}</td>
                  <td>
                    <Link
                      className="btn btn-primary btn-small"
                      data-testid="study-open"
                      to={`/viewer/${encodeURIComponent(study.study_uid)}?case=${encodeURIComponent(caseId)}`}
                    >
                      {t("caseImages.open")}
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {load.status === "ok" && load.studies.length > 0 ? <ShareLinksPanel caseId={caseId} studies={load.studies} /> : null}
    </div>
  );
}
