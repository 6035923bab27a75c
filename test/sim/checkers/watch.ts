/**
 * Watch semantics, checked on one client session's delivery log (events and
 * read responses in the order the client saw them):
 *  - a one-shot watch fires at most once;
 *  - events reach the session in zxid order;
 *  - a client never sees data newer than an event it has not yet received:
 *    after a watched read of `path` returned version zxid m0, any later read of
 *    `path` that shows a change after m0 (a newer mzxid, or the node gone)
 *    must come after that watch's event.
 */
import type { Violations } from "./violation.js";

export type WatchLogEntry =
  /** A one-shot data watch was registered by a read of `path` that saw mzxid `mzxid` (null: no node). */
  | { readonly kind: "registered"; readonly watchId: number; readonly path: string; readonly mzxid: number | null }
  | { readonly kind: "event"; readonly watchId: number; readonly path: string; readonly zxid: number }
  /** A read of `path` returned; mzxid null = NoNode. */
  | { readonly kind: "read"; readonly path: string; readonly mzxid: number | null }
  /** Context for a human reading a failure (connection state changes); ignored by the checks. */
  | { readonly kind: "note"; readonly text: string };

export class WatchLog {
  readonly entries: WatchLogEntry[] = [];
  private nextId = 1;
  constructor(readonly label: string) {}
  newWatchId(): number {
    return this.nextId++;
  }
  push(entry: WatchLogEntry): void {
    this.entries.push(entry);
  }
}

export function checkWatchLog(log: WatchLog, violations: Violations): number {
  const fired = new Map<number, number>();
  /** Registered, not yet fired: watchId -> what the registering read saw. */
  const pending = new Map<number, { path: string; mzxid: number | null }>();
  let lastEventZxid = 0;
  let checked = 0;
  const context = (at: number): string =>
    log.entries
      .slice(Math.max(0, at - 12), at + 1)
      .map((e) => JSON.stringify(e))
      .join(" ");
  for (const [at, entry] of log.entries.entries()) {
    if (entry.kind === "note") continue;
    checked++;
    if (entry.kind === "registered") {
      // The event may be logged before the registering read's continuation ran: then it already fired.
      if (!fired.has(entry.watchId)) pending.set(entry.watchId, { path: entry.path, mzxid: entry.mzxid });
    } else if (entry.kind === "event") {
      const count = (fired.get(entry.watchId) ?? 0) + 1;
      fired.set(entry.watchId, count);
      if (count > 1) violations.add("watch", `${log.label}: one-shot watch ${entry.watchId} on ${entry.path} fired ${count} times`);
      if (entry.zxid < lastEventZxid) violations.add("watch", `${log.label}: event zxid ${entry.zxid} on ${entry.path} after event zxid ${lastEventZxid}`);
      lastEventZxid = Math.max(lastEventZxid, entry.zxid);
      pending.delete(entry.watchId);
    } else {
      for (const [watchId, watch] of pending) {
        if (watch.path !== entry.path) continue;
        const changed = watch.mzxid === null ? entry.mzxid !== null : entry.mzxid === null || entry.mzxid > watch.mzxid;
        if (changed) {
          violations.add(
            "watch",
            `${log.label}: read of ${entry.path} saw ${entry.mzxid === null ? "no node" : `mzxid ${entry.mzxid}`} before watch ${watchId} (registered at ${watch.mzxid === null ? "no node" : `mzxid ${watch.mzxid}`}) fired; log: ${context(at)}`,
          );
          pending.delete(watchId);
        }
      }
    }
  }
  return checked;
}
