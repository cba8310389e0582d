// The studies and slides the session showed, as the de-identified copies trainees may open. A copy
// whose pixels may carry burned-in text (names printed into the image) says so: de-identification of
// the DICOM header cannot remove it.

import { useTranslation } from "react-i18next";
import { isKnown } from "../types";
import { MATERIAL_KINDS, type Material } from "./api";

export default function MaterialsList({ materials }: { materials: Material[] }) {
  const { t } = useTranslation();
  return (
    <section className="teaching-side-section" data-testid="teaching-materials">
      <h2 className="section-title">{t("teaching.player.materials")}</h2>
      {materials.length === 0 ? <p className="text-muted">{t("teaching.player.noMaterials")}</p> : null}
      <ul className="teaching-materials">
        {materials.map((material) => (
          <li key={`${material.kind}-${material.id}`} data-testid="teaching-material" data-kind={material.kind}>
            <span className="badge">{isKnown(MATERIAL_KINDS, material.kind) ? t(`teaching.material.${material.kind}`) : material.kind}</span> {material.description || material.id}
            {material.burned_in_warning ? (
              <p className="teaching-burned-in" role="note" data-testid="teaching-burned-in">
                {t("teaching.player.burnedIn")}
              </p>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
