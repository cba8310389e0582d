// One participant's video: own preview muted; remote tiles show name, role, network quality and
// whether the microphone is off or the camera is off (then the video is replaced by a placeholder).

import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import type { QualityLevel, RoomRole } from "./protocol";

export interface VideoTileProps {
  peerId: string;
  name: string;
  role: RoomRole | null;
  stream: MediaStream | null;
  self?: boolean;
  audio: boolean;
  video: boolean;
  away?: boolean;
  quality: QualityLevel | null;
}

export default function VideoTile({ peerId, name, role, stream, self = false, audio, video, away = false, quality }: VideoTileProps) {
  const { t } = useTranslation();
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  }, [stream]);
  const cameraOff = !video || !stream;
  return (
    <figure
      className={`video-tile${self ? " video-tile-self" : ""}`}
      data-testid={self ? "consult-self-tile" : "consult-remote-tile"}
      data-peer-id={peerId}
      data-camera={cameraOff ? "off" : "on"}
      data-audio={audio ? "on" : "off"}
    >
      {/* The element stays mounted while the camera is off so the audio keeps playing. */}
      <video ref={ref} autoPlay playsInline muted={self} hidden={cameraOff} data-testid="consult-video" />
      {cameraOff ? (
        <div className="video-tile-off" data-testid="consult-camera-off">
          {t("consultRoom.cameraOff")}
        </div>
      ) : null}
      <figcaption className="video-tile-caption">
        <span className="video-tile-name" data-testid="consult-peer-name">
          {self ? t("consultRoom.you", { name }) : name}
        </span>
        {role ? <span className="text-muted">{t(`consultRoom.role.${role}`)}</span> : null}
        {!audio ? <span className="badge">{t("consultRoom.micOff")}</span> : null}
        {away ? <span className="badge">{t("consultRoom.away")}</span> : null}
        {quality ? (
          <span className={`net-quality net-${quality}`} data-testid="consult-quality" data-level={quality}>
            {t(`consultRoom.quality.${quality}`)}
          </span>
        ) : null}
      </figcaption>
    </figure>
  );
}
