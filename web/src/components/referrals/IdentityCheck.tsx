import { useState } from "react";
import { useTranslation } from "react-i18next";
import { checkIdentity, type IdentityDocument } from "../../apis/referrals";
import { errorMessage } from "../../errors";
import Dialog from "../Dialog";

/**
 * Before an upper-level doctor opens the record: the number on the patient's national ID or health card,
 * compared by the server with the one on record (杜绝冒名就诊). Every attempt is audited; a mismatch keeps
 * the record closed.
 */
export default function IdentityCheck({ referralId, onChecked, onClose }: { referralId: number; onChecked: () => void; onClose: () => void }) {
  const { t } = useTranslation();
  const [document, setDocument] = useState<IdentityDocument>("national_id");
  const [number, setNumber] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function check() {
    if (!number.trim()) return setError(t("referral.identity.numberRequired"));
    setBusy(true);
    setError(null);
    try {
      await checkIdentity(referralId, document, number.trim().toUpperCase());
      onChecked();
    } catch (err) {
      setError(errorMessage(err, t));
      setBusy(false);
    }
  }

  return (
    <Dialog
      title={t("referral.identity.title")}
      confirmLabel={t("referral.identity.confirm")}
      onConfirm={() => void check()}
      onClose={onClose}
      busy={busy}
      error={error}
      testId="identity-dialog"
    >
      <p>{t("referral.identity.body")}</p>
      <div className="choice-row" role="radiogroup">
        {(["national_id", "health_card"] as const).map((d) => (
          <label key={d}>
            <input type="radio" checked={document === d} onChange={() => setDocument(d)} data-testid={`identity-${d}`} />
            {t(`referral.identity.${d}`)}
          </label>
        ))}
      </div>
      <label className="field">
        <span className="field-label">{t("referral.identity.number")}</span>
        <input value={number} maxLength={32} autoComplete="off" onChange={(e) => setNumber(e.target.value)} data-testid="identity-number" />
      </label>
    </Dialog>
  );
}
