// The leader's choice of what the room looks at: the case's DICOM studies, slides and ECGs (their own
// APIs); picking one sends `open`. A teaching room has no case of its own: the host names one.

import { useTranslation } from "react-i18next";
import * as api from "../api";
import { listCaseEcgs, type Ecg } from "../apis/ecg";
import { listCaseSlides, type Slide } from "../apis/slides";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { ViewerTarget } from "../sharedViewer/state";
import type { CaseStudy } from "../types";
import { formatDicomDate } from "../viewer/dicom";

interface Material {
  studies: CaseStudy[];
  slides: Slide[];
  ecgs: Ecg[];
}

async function caseMaterial(caseId: string, signal: AbortSignal): Promise<Material> {
  const [studies, slides, ecgs] = await Promise.all([
    api.listCaseStudies(caseId, signal),
    listCaseSlides(caseId, signal),
    listCaseEcgs(caseId, signal),
  ]);
  return { studies, slides, ecgs };
}

const valueOf = (target: ViewerTarget) => `${target.type}:${target.id}`;

function targetOf(value: string): ViewerTarget | null {
  const at = value.indexOf(":");
  const type = value.slice(0, at);
  if (type !== "study" && type !== "slide" && type !== "ecg") return null;
  return { type, id: value.slice(at + 1) };
}

interface Props {
  caseId: string;
  open: ViewerTarget | null;
  onOpen: (target: ViewerTarget) => void;
}

export default function MaterialPicker({ caseId, open, onOpen }: Props) {
  const { t } = useTranslation();
  const [load] = useLoad((signal) => caseMaterial(caseId, signal), [caseId]);
  if (load.status === "loading") return <span className="loading">{t("sharedViewer.loading")}</span>;
  if (load.status === "error")
    return <span role="alert">{t("sharedViewer.pickError", { message: errorMessage(load.error, t) })}</span>;
  const { studies, slides, ecgs } = load.data;
  const current = open && open.type !== "series" ? valueOf(open) : "";
  return (
    <label className="shared-pick">
      {t("sharedViewer.pick")}{" "}
      <select
        value={current}
        data-testid="shared-pick"
        onChange={(event) => {
          const target = targetOf(event.target.value);
          if (target) onOpen(target);
        }}
      >
        <option value="">{t("sharedViewer.pickPlaceholder")}</option>
        {studies.length ? (
          <optgroup label={t("sharedViewer.groups.study")}>
            {studies.map((s) => (
              <option key={s.study_uid} value={valueOf({ type: "study", id: s.study_uid })}>
                {t("sharedViewer.studyItem", {
                  description: s.description || t("viewer.noDescription"),
                  modalities: s.modalities.join("/") || "?",
                  date: formatDicomDate(s.study_date) || t("common.none"),
                })}
              </option>
            ))}
          </optgroup>
        ) : null}
        {slides.length ? (
          <optgroup label={t("sharedViewer.groups.slide")}>
            {slides.map((s) => (
              <option key={s.id} value={valueOf({ type: "slide", id: String(s.id) })}>
                {t("sharedViewer.slideItem", { filename: s.filename })}
              </option>
            ))}
          </optgroup>
        ) : null}
        {ecgs.length ? (
          <optgroup label={t("sharedViewer.groups.ecg")}>
            {ecgs.map((e) => (
              <option key={e.id} value={valueOf({ type: "ecg", id: String(e.id) })}>
                {t("sharedViewer.ecgItem", { filename: e.filename, leads: e.leads.length })}
              </option>
            ))}
          </optgroup>
        ) : null}
      </select>
    </label>
  );
}
