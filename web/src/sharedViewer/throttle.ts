// Continuous interactions (window/level drags, zoom, pan, pointer moves) reach the room at most every
// `intervalMs`, the last value always: followers end where the leader stopped, without a flood of frames.

export interface Throttled<T> {
  (value: T): void;
  /** Drop a pending value (the viewer went away, or the user is no longer the leader). */
  cancel(): void;
}

export function throttle<T>(intervalMs: number, send: (value: T) => void): Throttled<T> {
  let last = 0;
  let timer: number | undefined;
  let pending: { value: T } | null = null;
  const flush = () => {
    timer = undefined;
    if (!pending) return;
    last = Date.now();
    const { value } = pending;
    pending = null;
    send(value);
  };
  const throttled = ((value: T) => {
    pending = { value };
    if (timer !== undefined) return;
    const wait = Math.max(0, last + intervalMs - Date.now());
    if (wait === 0) flush();
    else timer = window.setTimeout(flush, wait);
  }) as Throttled<T>;
  throttled.cancel = () => {
    window.clearTimeout(timer);
    timer = undefined;
    pending = null;
  };
  return throttled;
}

/** 10 a second: the brief's ceiling for continuous viewer events. */
export const CONTINUOUS_MS = 100;
