// The platform's automated measurements (自动测量, with the method and both QTc formulas named) and the
// device's own measurements and interpretation (设备判读), side by side and never mixed.

import { useTranslation } from "react-i18next";
import { numberIn, type EcgMeasurements as Measurements } from "../../apis/ecg";

const ROWS = [
  ["heart_rate_bpm", "bpm"],
  ["rr_ms", "ms"],
  ["pr_ms", "ms"],
  ["qrs_ms", "ms"],
  ["qt_ms", "ms"],
  ["qtc_ms", "ms"],
  ["qtc_bazett_ms", "ms"],
  ["qtc_fridericia_ms", "ms"],
  ["p_axis_deg", "°"],
  ["qrs_axis_deg", "°"],
  ["t_axis_deg", "°"],
] as const;

function Table({ values, testId }: { values: Record<string, unknown>; testId: string }) {
  const { t } = useTranslation();
  const shown = ROWS.filter(([key]) => numberIn(values, key) !== null);
  if (shown.length === 0) return <p className="text-muted">{t("ecg.measure.noneFound")}</p>;
  return (
    <dl className="ecg-measures" data-testid={testId}>
      {shown.map(([key, unit]) => (
        <div key={key} data-testid={`${testId}-${key}`} data-value={String(numberIn(values, key))}>
          <dt>{t(`ecg.measure.${key}`)}</dt>
          <dd>
            {Math.round(numberIn(values, key) ?? 0)} {unit}
          </dd>
        </div>
      ))}
    </dl>
  );
}

export default function EcgMeasurements({ measurements }: { measurements: Measurements }) {
  const { t } = useTranslation();
  const { automated, device } = measurements;
  return (
    <div className="ecg-measure-panels">
      <section className="ecg-measure-panel" data-testid="ecg-automated">
        <h3 className="subsection-title">{t("ecg.measure.automated")}</h3>
        {automated ? (
          <>
            <p className="text-muted" data-testid="ecg-automated-method">
              {t("ecg.measure.method", { method: String(automated.method ?? ""), beats: numberIn(automated, "beats") ?? "?" })}
            </p>
            <Table values={automated} testId="ecg-auto" />
            <p className="text-muted">{t("ecg.measure.qtcFormulas")}</p>
          </>
        ) : (
          <p className="text-muted">{t("ecg.measure.pending")}</p>
        )}
      </section>
      <section className="ecg-measure-panel" data-testid="ecg-device">
        <h3 className="subsection-title">{t("ecg.measure.device")}</h3>
        <Table values={device.measurements} testId="ecg-device-measure" />
        {device.statements.length > 0 ? (
          <ul className="ecg-statements" data-testid="ecg-device-statements">
            {device.statements.map((statement, index) => (
              <li key={index}>{statement}</li>
            ))}
          </ul>
        ) : (
          <p className="text-muted">{t("ecg.measure.noStatements")}</p>
        )}
      </section>
    </div>
  );
}
