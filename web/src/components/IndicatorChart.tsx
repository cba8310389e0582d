import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Indicator } from "../apis/dashboard";

type State = "loading" | "drawn" | "error";

/**
 * One breakdown of an indicator as a bar chart (ECharts, loaded with the first chart). A rate's target
 * is drawn as a line across the bars.
 */
export default function IndicatorChart({ indicator, seriesIndex }: { indicator: Indicator; seriesIndex: number }) {
  const { t, i18n } = useTranslation();
  const element = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<State>("loading");
  const series = indicator.series[seriesIndex];
  const locale = i18n.language.startsWith("zh") ? "zh-CN" : "en";

  useEffect(() => {
    let disposed = false;
    let dispose: () => void = () => {};
    import("../charts/echarts")
      .then(({ default: echarts }) => {
        if (disposed || !element.current) return;
        const chart = echarts.init(element.current, undefined, { renderer: "canvas" });
        const resize = () => chart.resize();
        window.addEventListener("resize", resize);
        dispose = () => {
          window.removeEventListener("resize", resize);
          chart.dispose();
        };
        chart.on("finished", () => setState("drawn"));
        chart.setOption({
          animation: false,
          grid: { left: 48, right: 16, top: 24, bottom: 56 },
          tooltip: { trigger: "axis" },
          xAxis: { type: "category", data: series.points.map((p) => p.label), axisLabel: { interval: 0, rotate: series.points.length > 4 ? 30 : 0 } },
          yAxis: { type: "value", max: indicator.unit === "percent" ? 100 : undefined },
          series: [
            {
              type: "bar",
              name: series.name[locale],
              data: series.points.map((p) => p.value),
              itemStyle: { color: "#1f6feb" },
              markLine:
                indicator.target !== null
                  ? { symbol: "none", data: [{ yAxis: indicator.target, name: t("dashboard.target") }], lineStyle: { color: "#d4380d", type: "dashed" } }
                  : undefined,
            },
          ],
        });
      })
      .catch(() => setState("error"));
    return () => {
      disposed = true;
      dispose();
    };
  }, [indicator, series, locale, t]);

  return (
    <figure className="chart" data-testid="indicator-chart" data-series={series.key} data-state={state}>
      <figcaption className="text-muted">{series.name[locale]}</figcaption>
      <div ref={element} className="chart-canvas" role="img" aria-label={`${indicator.name[locale]} · ${series.name[locale]}`} />
      {state === "error" ? <p className="form-error">{t("dashboard.chartError")}</p> : null}
    </figure>
  );
}
