// Media profiles: `normal` camera, `low` (320×180, ≤ 150 kbit/s, for a township's mobile uplink) and
// `audio_only` (the camera is stopped, not just hidden, so no video is encoded or sent).

import type { MediaProfile } from "./protocol";
import type { PeerMesh } from "./mesh";

export const LOW_BITRATE_BPS = 150_000;
const LOW_SIZE = { width: 320, height: 180 };
const NORMAL_SIZE = { width: 640, height: 360 };

/** Open camera and microphone; audio only when there is no camera (or it is refused). */
export async function openLocalMedia(): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: NORMAL_SIZE });
  } catch {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  }
}

/** Switch the local stream and every sender to a profile. Returns whether the camera is now on. */
export async function applyProfile(profile: MediaProfile, local: MediaStream, mesh: PeerMesh | null): Promise<boolean> {
  let video = local.getVideoTracks()[0] ?? null;
  if (profile === "audio_only") {
    if (video) {
      video.stop();
      local.removeTrack(video);
    }
    await mesh?.replaceVideo(null);
    return false;
  }
  const size = profile === "low" ? LOW_SIZE : NORMAL_SIZE;
  if (!video) {
    video = (await navigator.mediaDevices.getUserMedia({ video: size })).getVideoTracks()[0];
    local.addTrack(video);
    await mesh?.replaceVideo(video);
  } else {
    await video.applyConstraints(size);
  }
  await mesh?.limitVideoBitrate(profile === "low" ? LOW_BITRATE_BPS : null);
  return true;
}
