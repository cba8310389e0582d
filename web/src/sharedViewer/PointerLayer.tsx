// A layer over the shared image: the other participant's pointer as a dot, and our own pointer moves
// (0–1 of the image area) reported at most 10 a second. For a follower it also catches the mouse, so the
// viewer underneath is not moved locally away from what the leader shows.

import { useEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";
import { CONTINUOUS_MS, throttle } from "./throttle";

export interface PointerPosition {
  x: number;
  y: number;
}

interface Props {
  pointer: PointerPosition | null;
  /** Catch the mouse (followers). */
  follow: boolean;
  onPointer?: (position: PointerPosition) => void;
}

const clamp = (n: number) => Math.min(1, Math.max(0, n));

export default function PointerLayer({ pointer, follow, onPointer }: Props) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const report = useMemo(() => (onPointer ? throttle(CONTINUOUS_MS, onPointer) : null), [onPointer]);

  useEffect(() => {
    const area = ref.current?.parentElement;
    if (!area || !report) return;
    const onMove = (event: PointerEvent) => {
      const box = area.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) return;
      report({ x: clamp((event.clientX - box.left) / box.width), y: clamp((event.clientY - box.top) / box.height) });
    };
    area.addEventListener("pointermove", onMove);
    return () => {
      area.removeEventListener("pointermove", onMove);
      report.cancel();
    };
  }, [report]);

  return (
    <div ref={ref} className={follow ? "shared-pointer-layer shared-follow-layer" : "shared-pointer-layer"} data-testid="shared-pointer-layer">
      {pointer ? (
        <span
          className="shared-pointer-dot"
          data-testid="shared-pointer"
          title={t("sharedViewer.pointer")}
          style={{ left: `${pointer.x * 100}%`, top: `${pointer.y * 100}%` }}
        />
      ) : null}
    </div>
  );
}
