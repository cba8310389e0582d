// What a recorded session looked like at one moment of its video: the viewer events and chat lines
// that had happened by then, and the chapter it was in. Everything is on the session clock (t_ms),
// which is also the position in the recording (docs/consults.md, "Recording").

import type { StreamItem } from "../sharedViewer/state";
import type { Chapter, ChatPayload, LibraryEvent } from "./api";

export interface TimedChat {
  seq: number;
  t_ms: number;
  payload: ChatPayload;
}

/** The item's viewer events and chat lines, each in session-clock order. */
export function splitEvents(events: LibraryEvent[]): { viewer: StreamItem[]; chat: TimedChat[] } {
  const ordered = [...events].sort((a, b) => a.t_ms - b.t_ms || a.seq - b.seq);
  const viewer: StreamItem[] = [];
  const chat: TimedChat[] = [];
  for (const event of ordered) {
    if (event.kind === "viewer") viewer.push({ seq: event.seq, t_ms: event.t_ms, payload: event.payload });
    else chat.push({ seq: event.seq, t_ms: event.t_ms, payload: event.payload });
  }
  return { viewer, chat };
}

/** How many of the time-ordered `items` happened at or before `ms` (binary search: called every frame). */
export function countUpTo(items: readonly { t_ms: number }[], ms: number): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (items[mid].t_ms <= ms) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The chapter playing at `ms`: the last one started by then, or -1 before the first. */
export function chapterAt(chapters: readonly Chapter[], ms: number): number {
  return countUpTo(chapters, ms) - 1;
}

/** "12:05" or "1:02:03" for a position or a duration. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}
