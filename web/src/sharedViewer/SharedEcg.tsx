// An ECG in the shared viewer: the ECG viewer's paper (true scale from this screen's calibration), its
// zoom followed from the room's viewport, or sent by the leader when changed.

import { useTranslation } from "react-i18next";
import { ecgSamples } from "../apis/ecg";
import { DEFAULT_PX_PER_MM, storedPxPerMm } from "../ecg/calibration";
import { errorMessage } from "../errors";
import { useLoad } from "../hooks/useLoad";
import { Paper } from "../pages/EcgViewerPage";
import PointerLayer, { type PointerPosition } from "./PointerLayer";
import type { ViewerEvent, ViewerState } from "./state";

interface Props {
  ecgId: string;
  /** The record's path: /api/ecgs/<id>. */
  base: string;
  state: ViewerState;
  lead: boolean;
  pointer: PointerPosition | null;
  onEvent?: (event: ViewerEvent) => void;
  onPointer?: (position: PointerPosition) => void;
}

export default function SharedEcg({ ecgId, base, state, lead, pointer, onEvent, onPointer }: Props) {
  const { t } = useTranslation();
  const [samples] = useLoad((signal) => ecgSamples(ecgId, signal, 500, base), [ecgId, base]);
  if (samples.status === "error")
    return (
      <p className="shared-viewer-empty" role="alert">
        {t("sharedViewer.loadError", { message: errorMessage(samples.error, t) })}
      </p>
    );
  if (samples.status === "loading") return <p className="shared-viewer-empty loading">{t("sharedViewer.loading")}</p>;
  const stored = storedPxPerMm();
  const zoom = state.viewport?.zoom ?? 1;
  return (
    <div className="shared-ecg" data-testid="shared-view" data-ready="true" data-zoom={zoom}>
      <div className="shared-ecg-paper">
        <Paper
          samples={samples.data}
          pxPerMm={stored ?? DEFAULT_PX_PER_MM}
          calibrated={stored !== null}
          zoom={zoom}
          onZoomChange={lead ? (value) => onEvent?.({ kind: "viewport", zoom: value }) : undefined}
        />
        <PointerLayer pointer={pointer} follow={!lead} onPointer={onPointer} />
      </div>
    </div>
  );
}
