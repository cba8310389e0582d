// A `series` target names only the SeriesInstanceUID (contract.md) and this DICOMweb has no series query
// across studies: its study is the one open before (the leader picks series inside a study), or — for a
// late joiner who never saw that study — found by asking each visible study (QIDO) for the series.

import { useEffect, useRef, useState } from "react";
import { request, dicomwebStudyPath, type DicomJson } from "../api";
import { str, TAG } from "../viewer/dicom";
import type { ViewerTarget } from "./state";

const DICOM_JSON = "application/dicom+json";
/** The most recent studies asked; a consult's material is recent. */
const SEARCH_LIMIT = 100;

async function findStudyOfSeries(dicomweb: string, seriesUid: string, signal: AbortSignal): Promise<string | null> {
  const studies = (await request<DicomJson[] | null>("GET", `${dicomweb}/studies?limit=${SEARCH_LIMIT}`, { signal, accept: DICOM_JSON })) ?? [];
  const query = `SeriesInstanceUID=${encodeURIComponent(seriesUid)}`;
  const found = await Promise.all(
    studies.map(async (study) => {
      const uid = str(study, TAG.studyUid);
      const series = await request<DicomJson[] | null>("GET", `${dicomwebStudyPath(uid, dicomweb)}/series?${query}`, { signal, accept: DICOM_JSON });
      return series?.length ? uid : null;
    }),
  );
  return found.find((uid) => uid !== null) ?? null;
}

export type StudyLookup = { status: "known"; studyUid: string } | { status: "searching" } | { status: "unknown" };

/** The study to show for a study or series target. */
export function useStudyOfTarget(target: ViewerTarget | null, dicomweb: string): StudyLookup {
  const lastStudy = useRef<string | null>(null);
  const known = useRef(new Map<string, string>());
  const [, learnt] = useState(0);
  const [failed, setFailed] = useState<string | null>(null);
  const seriesUid = target?.type === "series" ? target.id : null;
  if (target?.type === "study") lastStudy.current = target.id;
  if (seriesUid && !known.current.has(seriesUid) && lastStudy.current) known.current.set(seriesUid, lastStudy.current);
  const found = seriesUid ? known.current.get(seriesUid) : undefined;

  useEffect(() => {
    if (!seriesUid || found) return;
    const abort = new AbortController();
    findStudyOfSeries(dicomweb, seriesUid, abort.signal)
      .then((uid) => {
        if (uid) known.current.set(seriesUid, uid);
        else setFailed(seriesUid);
        learnt((n) => n + 1);
      })
      .catch(() => {
        if (!abort.signal.aborted) setFailed(seriesUid);
      });
    return () => abort.abort();
  }, [seriesUid, found, dicomweb]);

  if (target?.type === "study") return { status: "known", studyUid: target.id };
  if (!seriesUid) return { status: "unknown" };
  if (found) return { status: "known", studyUid: found };
  return failed === seriesUid ? { status: "unknown" } : { status: "searching" };
}
