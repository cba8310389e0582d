// The steps of a referral this user may take now (`actions` of the summary or record). Booking picks a
// slot from the receiving hospital's grassroots-reserved quota; declining, cancelling and closing ask
// first (declining says why). Referring down has its own form on the referral page.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { listSlots, referralAction, type ReferralAction, type ReferralStepIn, type ReferralSummary } from "../../apis/referrals";
import { errorMessage } from "../../errors";
import { useLoad } from "../../hooks/useLoad";
import Dialog from "../Dialog";
import { actionLabel, slotKindLabel } from "./labels";

type Step = Exclude<ReferralAction, "refer_down">;
const ASKING: readonly Step[] = ["book", "decline", "cancel", "close"];
const ORDER: readonly Step[] = ["receive", "book", "arrive", "admit", "treat", "discharge", "close", "decline", "cancel"];

function SlotChoice({ institutionId, value, onChange }: { institutionId: number; value: string; onChange: (id: string) => void }) {
  const { t } = useTranslation();
  const [slots] = useLoad((signal) => listSlots(institutionId, signal), [institutionId]);
  if (slots.status === "loading") return <p className="loading">{t("common.loading")}</p>;
  if (slots.status === "error") return <p className="form-error">{errorMessage(slots.error, t)}</p>;
  if (slots.data.length === 0) return <p className="text-muted" data-testid="slots-empty">{t("referral.book.none")}</p>;
  return (
    <fieldset className="slot-list" data-testid="slot-list">
      <legend className="field-label">{t("referral.book.choose")}</legend>
      {slots.data.map((slot) => (
        <label key={slot.id} className="slot-option" data-testid="slot-option" data-slot-id={slot.id} data-available={slot.available}>
          <input type="radio" name="slot" value={slot.id} checked={value === String(slot.id)} disabled={slot.available <= 0} onChange={() => onChange(String(slot.id))} />
          <span>
            {slot.day} · {slotKindLabel(slot.kind, t)}
            {slot.department ? ` · ${slot.department}` : ""}
          </span>
          <span className="text-muted">{t("referral.book.quota", { available: slot.available, reserved: slot.reserved, capacity: slot.capacity })}</span>
        </label>
      ))}
    </fieldset>
  );
}

export default function ReferralActions({
  referral,
  onChanged,
  only,
}: {
  referral: ReferralSummary;
  onChanged: (changed: ReferralSummary) => void;
  /** Show only these steps (the incoming list offers those that need no record). */
  only?: readonly Step[];
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState<Step | null>(null);
  const [text, setText] = useState("");
  const [slot, setSlot] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const steps = ORDER.filter((a) => referral.actions.includes(a) && (!only || only.includes(a)));

  async function act(step: Step) {
    const body: ReferralStepIn = {};
    if (step === "book") {
      if (!slot) return setError(t("referral.book.chooseFirst"));
      body.slot_id = Number(slot);
    }
    if (step === "decline") {
      if (!text.trim()) return setError(t("referral.decline.reasonRequired"));
      body.reason = text.trim();
    } else if (text.trim()) {
      body.note = text.trim();
    }
    setBusy(true);
    setError(null);
    try {
      const changed = await referralAction(referral.id, step, body);
      setOpen(null);
      onChanged(changed);
    } catch (err) {
      setError(errorMessage(err, t));
    } finally {
      setBusy(false);
    }
  }

  function start(step: Step) {
    setText("");
    setSlot("");
    setError(null);
    if (ASKING.includes(step)) setOpen(step);
    else void act(step);
  }

  if (steps.length === 0) return null;
  return (
    <div className="case-actions" data-testid="referral-actions">
      {steps.map((step, index) => (
        <button
          key={step}
          type="button"
          className={`btn btn-small ${step === "decline" || step === "cancel" ? "btn-secondary btn-danger-text" : index === 0 ? "btn-primary" : "btn-secondary"}`}
          disabled={busy}
          onClick={() => start(step)}
          data-testid={`referral-${step}`}
        >
          {actionLabel(step, t)}
        </button>
      ))}
      {error && !open ? (
        <p className="form-error" role="alert" data-testid="referral-action-error">
          {error}
        </p>
      ) : null}
      {open ? (
        <Dialog
          title={t(`referral.dialog.${open}`)}
          confirmLabel={actionLabel(open, t)}
          onConfirm={() => void act(open)}
          onClose={() => setOpen(null)}
          busy={busy}
          error={error}
          danger={open === "decline" || open === "cancel"}
          testId="referral-dialog"
        >
          {open === "book" ? <SlotChoice institutionId={referral.to_institution.id} value={slot} onChange={setSlot} /> : null}
          <label className="field">
            <span className="field-label">{t(open === "decline" ? "referral.decline.reason" : "actionDialog.noteOptional")}</span>
            <textarea rows={3} maxLength={4000} required={open === "decline"} value={text} onChange={(e) => setText(e.target.value)} data-testid="referral-dialog-text" />
          </label>
        </Dialog>
      ) : null}
    </div>
  );
}
