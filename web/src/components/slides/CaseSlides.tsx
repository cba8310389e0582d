// The whole-slide images of a case, each with its thumbnail and a link to the slide viewer; the requester
// uploads another slide (SVS / pyramidal TIFF / DICOM WSI; the server names the formats when it refuses one).

import { Link } from "react-router-dom";
import { useTranslation } from "react-i18next";
import { listCaseSlides, slideThumbnailUrl, uploadSlide, type Slide } from "../../apis/slides";
import CaseFileList from "../CaseFileList";

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

export default function CaseSlides({ caseId, mayUpload, refreshKey }: { caseId: number; mayUpload: boolean; refreshKey?: unknown }) {
  const { t } = useTranslation();
  return (
    <CaseFileList<Slide>
      ns="slides"
      className="case-slides"
      testIds={{
        list: "case-slides",
        empty: "case-slides-empty",
        refresh: "slides-refresh",
        upload: { root: "slide-upload", file: "slide-file", done: "slide-uploaded", error: "slide-upload-error" },
      }}
      caseId={caseId}
      list={listCaseSlides}
      upload={uploadSlide}
      uploadTexts={{ label: t("slides.upload"), hint: t("slides.uploadHint"), doneText: t("slides.uploaded"), duplicateText: t("slides.duplicate") }}
      isPending={(slide) => slide.tiles_state === "pending"}
      renderItem={(slide) => <SlideItem key={slide.id} caseId={caseId} slide={slide} />}
      mayUpload={mayUpload}
      refreshKey={refreshKey}
    />
  );
}
