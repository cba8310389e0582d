import { useState } from "react";
import { useTranslation } from "react-i18next";
import { addReferralNote, NOTE_KINDS, type NoteKind, type ReferralNote } from "../../apis/referrals";
import { formatDateTime } from "../../dates";
import { errorMessage } from "../../errors";

/** The treatment plan and record notes written upstairs; the referring doctor reads them here. */
export function NoteList({ notes }: { notes: ReferralNote[] }) {
  const { t, i18n } = useTranslation();
  if (notes.length === 0) return <p className="text-muted" data-testid="referral-notes-empty">{t("referral.notes.empty")}</p>;
  return (
    <ol className="timeline" data-testid="referral-notes">
      {notes.map((note) => (
        <li key={note.id} className="timeline-item" data-testid="referral-note" data-kind={note.kind}>
          <div className="timeline-head">
            <span className="timeline-action">{t(`referral.notes.kinds.${note.kind}`)}</span>
            <span className="timeline-meta">
              {note.author?.display_name ?? t("common.none")} · {formatDateTime(note.created_at, i18n.language)}
            </span>
          </div>
          <p className="timeline-note">{note.text}</p>
        </li>
      ))}
    </ol>
  );
}

export function NoteForm({ referralId, onAdded }: { referralId: number; onAdded: () => void }) {
  const { t } = useTranslation();
  const [kind, setKind] = useState<NoteKind>("treatment_plan");
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function add() {
    if (!text.trim()) return setError(t("referral.notes.textRequired"));
    setBusy(true);
    setError(null);
    try {
      await addReferralNote(referralId, kind, text.trim());
      setText("");
      onAdded();
    } catch (err) {
      setError(errorMessage(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form-section" data-testid="note-form" onSubmit={(e) => (e.preventDefault(), void add())}>
      <h3 className="subsection-title">{t("referral.notes.write")}</h3>
      <label className="field">
        <span className="field-label">{t("referral.notes.kind")}</span>
        <select value={kind} onChange={(e) => setKind(e.target.value as NoteKind)} data-testid="note-kind">
          {NOTE_KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`referral.notes.kinds.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span className="field-label">{t("referral.notes.text")}</span>
        <textarea rows={4} maxLength={20000} value={text} onChange={(e) => setText(e.target.value)} data-testid="note-text" />
      </label>
      {error ? (
        <p className="form-error" role="alert" data-testid="note-error">
          {error}
        </p>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="note-save">
          {t("referral.notes.save")}
        </button>
      </div>
    </form>
  );
}
