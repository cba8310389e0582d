// 数据驾驶舱: the community's indicators for one month (China Standard Time), each with its definition,
// its target where it has one (县域内就诊率 90%, 基层服务占比 65%), its breakdowns as charts, and the
// month as CSV. The charts load ECharts on first use, as a chunk of its own.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { dashboardCsvPath, getDashboard, type Indicator } from "../apis/dashboard";
import { thisMonth } from "../dates";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import type { PageDef } from "../routes";
import IndicatorChart from "../components/IndicatorChart";
import PageHeader from "../components/PageHeader";

const UNITS = ["count", "percent", "minutes", "person_times", "person_days"] as const;

/** An indicator's number with its unit ("92.3%", "45 分钟"); "—" when there is nothing to count. */
function formatValue(value: number | null, unit: string, t: TFunction): string {
  if (value === null) return t("common.none");
  return (UNITS as readonly string[]).includes(unit) ? t(`dashboard.units.${unit as (typeof UNITS)[number]}`, { value: String(value) }) : String(value);
}

function IndicatorCard({ indicator }: { indicator: Indicator }) {
  const { t, i18n } = useTranslation();
  const locale = i18n.language.startsWith("zh") ? "zh-CN" : "en";
  const met = indicator.target !== null && indicator.value !== null ? indicator.value >= indicator.target : null;
  return (
    <article className="indicator" data-testid="indicator" data-key={indicator.key} data-value={indicator.value ?? ""}>
      <header className="indicator-head">
        <h2 className="subsection-title">{indicator.name[locale]}</h2>
        {met !== null ? (
          <span className={`badge ${met ? "badge-ok" : "badge-overdue"}`} data-testid="indicator-met" data-met={met}>
            {t(met ? "dashboard.met" : "dashboard.notMet")}
          </span>
        ) : null}
      </header>
      <p className="indicator-value" data-testid="indicator-value">
        {formatValue(indicator.value, indicator.unit, t)}
      </p>
      {indicator.target !== null ? (
        <p className="text-muted" data-testid="indicator-target" data-target={indicator.target}>
          {t("dashboard.targetIs", { value: formatValue(indicator.target, indicator.unit, t) })}
        </p>
      ) : null}
      {indicator.denominator !== null ? (
        <p className="text-muted" data-testid="indicator-fraction">
          {t("dashboard.fraction", { numerator: indicator.numerator ?? 0, denominator: indicator.denominator })}
        </p>
      ) : null}
      <p className="indicator-definition" data-testid="indicator-definition">
        {indicator.definition[locale]}
      </p>
      {indicator.series.map((series, index) => (
        <IndicatorChart key={series.key} indicator={indicator} seriesIndex={index} />
      ))}
    </article>
  );
}

export default function DashboardPage({ page }: { page: PageDef }) {
  const { t } = useTranslation();
  const [month, setMonth] = useState(thisMonth);
  const [load] = useLoad((signal) => getDashboard(month, signal), [month]);
  return (
    <div className="page dashboard-page" data-testid="dashboard-page">
      <PageHeader
        title={t(page.titleKey)}
        actions={
          <a className="btn btn-secondary" href={dashboardCsvPath(month)} download data-testid="dashboard-csv">
            {t("dashboard.csv")}
          </a>
        }
      />
      <div className="filters">
        <label className="filter">
          <span className="field-label">{t("billing.month")}</span>
          <input type="month" value={month} max={thisMonth()} onChange={(e) => e.target.value && setMonth(e.target.value)} data-testid="dashboard-month" />
        </label>
        {load.status === "ok" ? (
          <span className="text-muted" data-testid="dashboard-scope">
            {t("dashboard.scope", { community: load.data.community.name, month: load.data.month })}
          </span>
        ) : null}
      </div>
      {load.status === "loading" ? (
        <p className="loading" role="status">
          {t("common.loading")}
        </p>
      ) : load.status === "error" ? (
        <p className="form-error" role="alert" data-testid="dashboard-error">
          {errorMessage(load.error, t)}
        </p>
      ) : (
        <div className="indicator-grid" data-testid="indicators" data-month={load.data.month}>
          {load.data.indicators.map((indicator) => (
            <IndicatorCard key={indicator.key} indicator={indicator} />
          ))}
        </div>
      )}
    </div>
  );
}
