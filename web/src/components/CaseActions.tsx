// The workflow buttons of a case: exactly the actions the API lists for this user now (`actions` of
// GET /api/cases/{id}). Actions that need a note or a colleague, or that cannot be undone, ask first.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { caseAction } from "../api";
import { ACTION_FORMS, BUTTON_ACTIONS, type ButtonAction } from "../caseWorkflow";
import { errorMessage } from "../errors";
import { useUser } from "../auth";
import type { CaseActionBody, CaseDetail } from "../types";
import ColleaguePicker from "./ColleaguePicker";
import Dialog from "./Dialog";

interface Props {
  detail: CaseDetail;
  onChanged: (detail: CaseDetail) => void;
}

export default function CaseActions({ detail, onChanged }: Props) {
  const user = useUser();
  const { t } = useTranslation();
  const [open, setOpen] = useState<ButtonAction | null>(null);
  const [note, setNote] = useState("");
  const [person, setPerson] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const available = BUTTON_ACTIONS.filter((action) => detail.actions.includes(action));

  async function act(action: ButtonAction) {
    const form = ACTION_FORMS[action];
    const body: CaseActionBody = {};
    if (form.note !== "none" && note.trim()) body.note = note.trim();
    if (form.person) body[form.person] = Number(person);
    setBusy(true);
    setError(null);
    try {
      const { case: changed } = await caseAction(detail.id, action, body);
      setOpen(null);
      onChanged(changed);
    } catch (err) {
      setError(errorMessage(err, t));
    } finally {
      setBusy(false);
    }
  }

  function start(action: ButtonAction) {
    setNote("");
    setPerson("");
    setError(null);
    if (ACTION_FORMS[action].confirm) setOpen(action);
    else void act(action);
  }

  if (available.length === 0) return null;
  const form = open ? ACTION_FORMS[open] : null;
  return (
    <div className="case-actions" data-testid="case-actions">
      {available.map((action) => (
        <button
          key={action}
          type="button"
          className={`btn ${ACTION_FORMS[action].danger ? "btn-secondary btn-danger-text" : action === available[0] ? "btn-primary" : "btn-secondary"}`}
          data-testid={`action-${action}`}
          disabled={busy}
          onClick={() => start(action)}
        >
          {t(`caseAction.${action}`)}
        </button>
      ))}
      {error && !open ? (
        <p className="form-error" role="alert" data-testid="action-error">
          {error}
        </p>
      ) : null}
      {open && form ? (
        <Dialog
          title={t(`actionDialog.${open}.title`)}
          confirmLabel={t(`caseAction.${open}`)}
          onConfirm={() => void act(open)}
          onClose={() => setOpen(null)}
          busy={busy}
          error={error}
          danger={form.danger}
          testId="action-dialog"
        >
          <p className="text-muted">{t(`actionDialog.${open}.body`)}</p>
          {form.person ? (
            <ColleaguePicker
              label={t(form.person === "expert" ? "colleague.expert" : "colleague.reader")}
              role={form.person === "expert" ? "expert" : "reader"}
              centreId={form.person === "assignee" ? (user.centre?.id ?? detail.centre?.id) : null}
              value={person}
              onChange={setPerson}
              testId="action-person"
            />
          ) : null}
          {form.note !== "none" ? (
            <label className="field">
              <span className="field-label">
                {t(form.note === "required" ? "actionDialog.noteRequired" : "actionDialog.noteOptional")}
              </span>
              <textarea
                rows={4}
                maxLength={4000}
                required={form.note === "required"}
                data-testid="action-note"
                value={note}
                onChange={(e) => setNote(e.target.value)}
              />
            </label>
          ) : null}
        </Dialog>
      ) : null}
    </div>
  );
}
