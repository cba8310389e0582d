import { useCallback, useEffect, useRef, useState } from "react";

export type Load<T> =
  | { status: "loading" }
  | { status: "error"; error: unknown }
  /** `refreshError`: a later refresh failed; the data shown is from the last one that worked. */
  | { status: "ok"; data: T; refreshError?: unknown };

/**
 * Loads `fetcher`'s data whenever `deps` change (showing "loading"), and again on `refresh()` or a
 * change of `refreshKey` while keeping the data on screen, so a live page updates in place.
 */
export function useLoad<T>(
  fetcher: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  refreshKey?: unknown,
): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);
  const latest = useRef(fetcher);
  latest.current = fetcher;

  useEffect(() => {
    setLoad({ status: "loading" });
  }, deps);

  useEffect(() => {
    const controller = new AbortController();
    latest
      .current(controller.signal)
      .then((data) => setLoad({ status: "ok", data }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        setLoad((previous) => (previous.status === "ok" ? { ...previous, refreshError: error } : { status: "error", error }));
      });
    return () => controller.abort();
  }, [...deps, attempt, refreshKey]);

  const refresh = useCallback(() => setAttempt((n) => n + 1), []);
  return [load, refresh];
}
