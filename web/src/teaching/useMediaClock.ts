// The position of a <video> in milliseconds, as React state: set at once on seeking/seeked (so a seek
// either way moves the replayed viewer immediately), and every animation frame while playing, so viewer
// events land on the frame they belong to rather than on the ~4 Hz `timeupdate`.

import { useEffect, useState } from "react";

/** `element` from a callback ref (`ref={setVideo}`), so the clock starts once the video is mounted. */
export function useMediaClock(element: HTMLVideoElement | null): number {
  const [ms, setMs] = useState(0);

  useEffect(() => {
    if (!element) return;
    let frame = 0;
    const read = () => setMs(Math.round(element.currentTime * 1000));
    const tick = () => {
      read();
      frame = element.paused || element.ended ? 0 : window.requestAnimationFrame(tick);
    };
    const start = () => {
      window.cancelAnimationFrame(frame);
      tick();
    };
    const events = ["timeupdate", "seeking", "seeked", "pause", "loadedmetadata"] as const;
    for (const name of events) element.addEventListener(name, read);
    element.addEventListener("playing", start);
    read();
    if (!element.paused) start();
    return () => {
      window.cancelAnimationFrame(frame);
      for (const name of events) element.removeEventListener(name, read);
      element.removeEventListener("playing", start);
    };
  }, [element]);

  return ms;
}
