// A late joiner in a room that is being recorded is asked for consent at once; until given, nothing of
// theirs goes to the recorder (useConsultRoom offers to it only then).

import { useTranslation } from "react-i18next";
import Dialog from "../components/Dialog";

export default function ConsentDialog({ onConsent, onClose }: { onConsent: () => void; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog
      title={t("consultRoom.consentDialog.title")}
      confirmLabel={t("consultRoom.consentDialog.agree")}
      onConfirm={onConsent}
      onClose={onClose}
      testId="consult-consent-dialog"
    >
      <p>{t("consultRoom.consentDialog.body")}</p>
    </Dialog>
  );
}
