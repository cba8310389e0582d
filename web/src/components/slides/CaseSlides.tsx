// The whole-slide images of a case, each with its thumbnail and a link to the slide viewer; the requester
// uploads another slide (SVS / pyramidal TIFF / DICOM WSI; the server names the formats when it refuses one).

import { useState } from "react";
import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { listCaseSlides, slideThumbnailUrl, uploadSlide, type Slide } from "../../apis/slides";
import { errorMessage } from "../../errors";
import { useLoad } from "../../hooks/useLoad";
import RawFileUpload from "../RawFileUpload";

function SlideItem({ caseId, slide }: { caseId: number; slide: Slide }) {
  const { t } = useTranslation();
  return (
    <li className="ecg-item" data-testid="case-slide" data-slide-id={slide.id} data-tiles-state={slide.tiles_state}>
      {slide.tiles_state === "ready" ? (
        <img className="ecg-thumb" src={slideThumbnailUrl(slide.id)} alt={t("slides.thumbAlt", { id: slide.id })} loading="lazy" />
      ) : (
        <span className="ecg-thumb ecg-thumb-empty">{t(`slides.tiles.${slide.tiles_state === "failed" ? "failed" : "pending"}`)}</span>
      )}
      <span className="ecg-item-text">
        <span className="study-desc">{slide.filename}</span>
        <span className="text-muted">
          {[
            slide.format,
            `${slide.width} × ${slide.height} px`,
            slide.mpp_x ? t("slides.mpp", { mpp: slide.mpp_x.toFixed(4) }) : t("slides.noMpp"),
            slide.objective_power ? `${slide.objective_power}×` : null,
          ]
            .filter(Boolean)
            .join(" · ")}
        </span>
        {slide.tiles_state === "failed" && slide.tiles_error ? <span className="form-error">{slide.tiles_error}</span> : null}
      </span>
      <Link className="btn btn-secondary btn-small" data-testid="slide-open" to={`/cases/${caseId}/slides/${slide.id}`}>
        {t("slides.open")}
      </Link>
    </li>
  );
}

function UploadSlide({ caseId, onUploaded }: { caseId: number; onUploaded: () => void }) {
  const { t } = useTranslation();
  return (
    <RawFileUpload
      upload={(file) => uploadSlide(caseId, file)}
      onUploaded={onUploaded}
      testIds={{ root: "slide-upload", file: "slide-file", done: "slide-uploaded", error: "slide-upload-error" }}
      label={t("slides.upload")}
      hint={t("slides.uploadHint")}
      doneText={t("slides.uploaded")}
      duplicateText={t("slides.duplicate")}
    />
  );
}

export default function CaseSlides({ caseId, mayUpload, refreshKey }: { caseId: number; mayUpload: boolean; refreshKey?: unknown }) {
  const { t } = useTranslation();
  const [version, setVersion] = useState(0);
  const [load, refresh] = useLoad((signal) => listCaseSlides(caseId, signal), [caseId], `${String(refreshKey)}:${version}`);
  const pending = load.status === "ok" && load.data.some((slide) => slide.tiles_state === "pending");
  return (
    <div className="case-slides">
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert">
          {t("slides.listError", { message: errorMessage(load.error, t) })}
        </p>
      ) : load.data.length === 0 ? (
        <p className="text-muted" data-testid="case-slides-empty">
          {t("slides.empty")}
        </p>
      ) : (
        <ul className="study-list" data-testid="case-slides">
          {load.data.map((slide) => (
            <SlideItem key={slide.id} caseId={caseId} slide={slide} />
          ))}
        </ul>
      )}
      {pending ? (
        <button type="button" className="btn btn-ghost btn-small" data-testid="slides-refresh" onClick={refresh}>
          {t("slides.refresh")}
        </button>
      ) : null}
      {mayUpload ? <UploadSlide caseId={caseId} onUploaded={() => setVersion((n) => n + 1)} /> : null}
    </div>
  );
}
