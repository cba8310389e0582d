// Draws the paper on a canvas at `scale` CSS px per mm: the 1 mm / 5 mm grid, a 1 mV × 0.2 s
// calibration pulse in front of each row, the traces (µV → mm by the gain), lead names, and caliper marks.
// The canvas backing store is sized by devicePixelRatio so lines stay sharp on high-density screens.

import type { PaperLayout } from "./layout";

const MINOR = "rgb(250, 212, 212)";
const MAJOR = "rgb(228, 80, 80)";
const TRACE = "#111";
const CALIPER = "#1f5fa8";

export interface DrawInput {
  layout: PaperLayout;
  leads: Record<string, number[]>;
  samplingRate: number;
  /** CSS px per mm on screen: calibration × zoom. */
  scale: number;
  speed: number;
  gain: number;
  caliperPoints: { x: number; y: number }[];
}

function grid(ctx: CanvasRenderingContext2D, widthMm: number, heightMm: number, scale: number): void {
  ctx.lineWidth = 1;
  for (const major of [false, true]) {
    ctx.strokeStyle = major ? MAJOR : MINOR;
    ctx.beginPath();
    for (let mm = 0; mm <= widthMm; mm++) {
      if ((mm % 5 === 0) !== major) continue;
      ctx.moveTo(mm * scale, 0);
      ctx.lineTo(mm * scale, heightMm * scale);
    }
    for (let mm = 0; mm <= heightMm; mm++) {
      if ((mm % 5 === 0) !== major) continue;
      ctx.moveTo(0, mm * scale);
      ctx.lineTo(widthMm * scale, mm * scale);
    }
    ctx.stroke();
  }
}

function pulse(ctx: CanvasRenderingContext2D, baselineMm: number, { scale, speed, gain }: DrawInput): void {
  const x0 = 2 * scale;
  const width = 0.2 * speed * scale;
  const y0 = baselineMm * scale;
  const top = y0 - gain * scale;
  ctx.moveTo(0.5 * scale, y0);
  ctx.lineTo(x0, y0);
  ctx.lineTo(x0, top);
  ctx.lineTo(x0 + width, top);
  ctx.lineTo(x0 + width, y0);
  ctx.lineTo(x0 + width + 1.5 * scale, y0);
}

export function drawPaper(canvas: HTMLCanvasElement, input: DrawInput): void {
  const { layout, leads, samplingRate, scale, speed, gain } = input;
  const dpr = window.devicePixelRatio || 1;
  const cssWidth = layout.widthMm * scale;
  const cssHeight = layout.heightMm * scale;
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, cssWidth, cssHeight);
  grid(ctx, layout.widthMm, layout.heightMm, scale);

  ctx.strokeStyle = TRACE;
  ctx.lineWidth = 1.2;
  ctx.lineJoin = "round";
  ctx.beginPath();
  for (const baseline of layout.rowBaselinesMm) pulse(ctx, baseline, input);
  const pxPerSample = (speed * scale) / samplingRate;
  const pxPerUv = (gain * scale) / 1000;
  for (const segment of layout.segments) {
    const values = leads[segment.lead];
    if (!values) continue;
    const first = Math.round(segment.start * samplingRate);
    const last = Math.min(values.length, Math.round(segment.end * samplingRate));
    const x0 = segment.xMm * scale;
    const y0 = segment.baselineMm * scale;
    for (let i = first; i < last; i++) {
      const x = x0 + (i - first) * pxPerSample;
      const y = y0 - values[i] * pxPerUv;
      if (i === first) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
  }
  ctx.stroke();

  ctx.fillStyle = TRACE;
  ctx.font = `${Math.max(10, 3 * scale)}px sans-serif`;
  for (const segment of layout.segments) {
    ctx.fillText(segment.lead, segment.xMm * scale + 3, (segment.baselineMm - Math.min(gain, 10) * 1.2) * scale);
  }

  ctx.strokeStyle = CALIPER;
  ctx.fillStyle = CALIPER;
  ctx.lineWidth = 1.5;
  for (const point of input.caliperPoints) {
    ctx.beginPath();
    ctx.moveTo(point.x, 0);
    ctx.lineTo(point.x, cssHeight);
    ctx.stroke();
    ctx.beginPath();
    ctx.arc(point.x, point.y, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  if (input.caliperPoints.length === 2) {
    const [a, b] = input.caliperPoints;
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }
}
