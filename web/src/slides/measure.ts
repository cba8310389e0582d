// Measurements on a slide in base-level image pixels, turned into microns with the scanner's microns per
// pixel (x and y apart: some scanners' pixels are not square). Kept free of OpenSeadragon so it reads alone.

export type Point = { x: number; y: number };
export type Mpp = { x: number; y: number };

export type Tool = "pan" | "point" | "line" | "polygon";

export type Annotation =
  | { tool: "point"; points: [Point] }
  | { tool: "line"; points: [Point, Point]; lengthUm: number; lengthPx: number }
  | { tool: "polygon"; points: Point[]; areaUm2: number; perimeterUm: number };

/** Distance in µm between two image points. */
export function distanceUm(a: Point, b: Point, mpp: Mpp): number {
  return Math.hypot((b.x - a.x) * mpp.x, (b.y - a.y) * mpp.y);
}

/** Shoelace area of a simple polygon, in µm². */
export function polygonAreaUm2(points: Point[], mpp: Mpp): number {
  let twice = 0;
  points.forEach((p, i) => {
    const q = points[(i + 1) % points.length];
    twice += p.x * q.y - q.x * p.y;
  });
  return (Math.abs(twice) / 2) * mpp.x * mpp.y;
}

export function line(a: Point, b: Point, mpp: Mpp): Annotation {
  return { tool: "line", points: [a, b], lengthUm: distanceUm(a, b, mpp), lengthPx: Math.hypot(b.x - a.x, b.y - a.y) };
}

export function polygon(points: Point[], mpp: Mpp): Annotation {
  const perimeterUm = points.reduce((sum, p, i) => sum + distanceUm(p, points[(i + 1) % points.length], mpp), 0);
  return { tool: "polygon", points, areaUm2: polygonAreaUm2(points, mpp), perimeterUm };
}

/** A scale bar of a round length (1, 2 or 5 × 10ⁿ µm) no longer than `maxPx` screen pixels. */
export function scaleBar(umPerScreenPx: number, maxPx = 160): { um: number; px: number } {
  const limit = umPerScreenPx * maxPx;
  const decade = 10 ** Math.floor(Math.log10(limit));
  const um = [5, 2, 1].map((m) => m * decade).find((v) => v <= limit) ?? decade;
  return { um, px: um / umPerScreenPx };
}

/** "250 µm", "1.5 mm" — lengths as a pathologist reads them. */
export function formatLength(um: number): string {
  return um >= 1000 ? `${Number((um / 1000).toPrecision(3))} mm` : `${Number(um.toPrecision(3))} µm`;
}

export function formatArea(um2: number): string {
  return um2 >= 1e6 ? `${(um2 / 1e6).toFixed(3)} mm²` : `${Math.round(um2).toLocaleString("en")} µm²`;
}
