import { useTranslation } from "react-i18next";
import type { TriageColour } from "../../apis/referrals";

/** 三色分级: the colour, named, with who manages the patient in that colour as its title. */
export default function TriageBadge({ colour }: { colour: TriageColour }) {
  const { t } = useTranslation();
  return (
    <span className={`triage triage-${colour}`} data-testid="triage-badge" data-colour={colour} title={t(`followUp.meaning.${colour}`)}>
      {t(`followUp.colours.${colour}`)}
    </span>
  );
}
