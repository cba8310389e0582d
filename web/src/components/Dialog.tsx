import { useEffect, useRef, type FormEvent, type ReactNode } from "react";
import { createPortal } from "react-dom";
import { useTranslation } from "react-i18next";

/**
 * A modal dialog (the browser's <dialog>, so focus, Esc and the backdrop behave natively) holding a
 * form: `onConfirm` runs on submit; the dialog stays open while `busy` and shows `error` inside.
 * It is rendered into <body>, and its events stop at it, so it may be opened from inside another form.
 */
export default function Dialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
  busy = false,
  error,
  danger = false,
  testId = "dialog",
}: {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
  busy?: boolean;
  error?: string | null;
  danger?: boolean;
  testId?: string;
}) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  function submit(event: FormEvent) {
    event.preventDefault();
    event.stopPropagation(); // React bubbles through portals: the form that opened it must not submit too
    if (!busy) onConfirm();
  }

  return createPortal(
    <dialog
      ref={ref}
      className="dialog"
      data-testid={testId}
      aria-labelledby={`${testId}-title`}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <form onSubmit={submit} className="dialog-form">
        <h2 className="dialog-title" id={`${testId}-title`}>
          {title}
        </h2>
        {children ? <div className="dialog-body">{children}</div> : null}
        {error ? (
          <p className="form-error" role="alert" data-testid={`${testId}-error`}>
            {error}
          </p>
        ) : null}
        <div className="dialog-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy} data-testid={`${testId}-cancel`}>
            {t("common.cancel")}
          </button>
          <button type="submit" className={`btn ${danger ? "btn-danger" : "btn-primary"}`} disabled={busy} data-testid={`${testId}-confirm`}>
            {busy ? t("common.working") : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>,
    document.body,
  );
}
