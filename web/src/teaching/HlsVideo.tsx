// A live HLS rendition in a <video>: hls.js over Media Source Extensions (Chromium, Firefox), the
// browser's own HLS where it has it (Safari). A fatal error (the broadcast stopped, the URL expired)
// is reported so the page can go back to "not live" and ask again.

import Hls from "hls.js";
import { useEffect, useRef } from "react";

export default function HlsVideo({ src, onFatal, testId }: { src: string; onFatal: (detail: string) => void; testId?: string }) {
  const video = useRef<HTMLVideoElement>(null);
  const fatal = useRef(onFatal);
  fatal.current = onFatal;

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    const play = () => void element.play().catch(() => undefined); // blocked autoplay: the controls remain
    if (!Hls.isSupported()) {
      element.src = src;
      element.addEventListener("loadedmetadata", play, { once: true });
      return () => element.removeAttribute("src");
    }
    const hls = new Hls({ liveDurationInfinity: true });
    hls.on(Hls.Events.MANIFEST_PARSED, play);
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else fatal.current(data.details);
    });
    hls.loadSource(src);
    hls.attachMedia(element);
    return () => hls.destroy();
  }, [src]);

  return <video ref={video} className="teaching-video" controls playsInline data-testid={testId} />;
}
