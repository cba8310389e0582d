// The one-time screen calibration: a card outline the user drags (or nudges) until a real bank or ID card
// held against the screen covers it exactly; saving keeps the px per mm in this browser.

import { useRef, useState, type PointerEvent } from "react";
import { useTranslation } from "react-i18next";
import { CARD_HEIGHT_MM, CARD_WIDTH_MM, DEFAULT_PX_PER_MM, validPxPerMm } from "../../ecg/calibration";

export default function CalibrationPanel({
  pxPerMm,
  onSave,
  onReset,
  onClose,
}: {
  pxPerMm: number;
  onSave: (pxPerMm: number) => void;
  onReset: () => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const [widthPx, setWidthPx] = useState(() => CARD_WIDTH_MM * pxPerMm);
  const drag = useRef<{ startX: number; startWidth: number } | null>(null);
  const candidate = widthPx / CARD_WIDTH_MM;

  function onPointerDown(event: PointerEvent<HTMLDivElement>) {
    event.currentTarget.setPointerCapture(event.pointerId);
    drag.current = { startX: event.clientX, startWidth: widthPx };
  }
  function onPointerMove(event: PointerEvent<HTMLDivElement>) {
    if (!drag.current) return;
    const next = drag.current.startWidth + (event.clientX - drag.current.startX);
    if (validPxPerMm(next / CARD_WIDTH_MM)) setWidthPx(next);
  }

  return (
    <section className="ecg-calibration" data-testid="ecg-calibration">
      <h3 className="subsection-title">{t("ecg.calibration.title")}</h3>
      <p className="text-muted">{t("ecg.calibration.hint", { width: CARD_WIDTH_MM })}</p>
      <div className="ecg-card-track">
        <div
          className="ecg-card"
          data-testid="ecg-calibration-card"
          style={{ width: `${widthPx}px`, height: `${(widthPx * CARD_HEIGHT_MM) / CARD_WIDTH_MM}px` }}
        >
          <span>{t("ecg.calibration.card")}</span>
          <div
            className="ecg-card-handle"
            data-testid="ecg-calibration-handle"
            role="slider"
            aria-label={t("ecg.calibration.handle")}
            aria-valuenow={Math.round(widthPx)}
            tabIndex={0}
            onPointerDown={onPointerDown}
            onPointerMove={onPointerMove}
            onPointerUp={() => (drag.current = null)}
            onKeyDown={(e) => {
              const step = e.key === "ArrowRight" ? 0.5 : e.key === "ArrowLeft" ? -0.5 : 0;
              if (step && validPxPerMm((widthPx + step) / CARD_WIDTH_MM)) setWidthPx(widthPx + step);
            }}
          />
        </div>
      </div>
      <p data-testid="ecg-calibration-value" data-px-per-mm={candidate}>
        {t("ecg.calibration.value", { px: widthPx.toFixed(1), perMm: candidate.toFixed(3) })}
      </p>
      <div className="form-actions">
        <button type="button" className="btn btn-primary" data-testid="ecg-calibration-save" onClick={() => onSave(candidate)}>
          {t("ecg.calibration.save")}
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          data-testid="ecg-calibration-reset"
          onClick={() => {
            setWidthPx(CARD_WIDTH_MM * DEFAULT_PX_PER_MM);
            onReset();
          }}
        >
          {t("ecg.calibration.reset")}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onClose}>
          {t("common.cancel")}
        </button>
      </div>
    </section>
  );
}
