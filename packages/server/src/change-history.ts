/**
 * The applier's recent history of tree changes, kept so a reconnecting
 * client's persistent watches get exactly the events they missed (deletions
 * included, which the tree itself no longer shows). Bounded by a number of
 * changes; the oldest entries go first. `after(zxid)` answers only when the
 * history is complete from `zxid` on: everything since the last eviction, or
 * since the snapshot the tree was last restored from (history before that
 * was never seen here).
 */
import type { AppliedChange, HistoryEntry } from "./ports.js";
import { nodeInvariant } from "./errors.js";

export class ChangeHistory {
  private entries: HistoryEntry[] = [];
  /** Index of the oldest live entry in `entries` (dropped ones are sliced away in bulk, so at most twice the live ones are held). */
  private head = 0;
  private changeCount = 0;
  /** The history holds every change with a zxid above this one. */
  private completeAfter: number;
  private lastZxid: number;

  constructor(private readonly maxChanges: number, startZxid: number) {
    nodeInvariant(Number.isSafeInteger(maxChanges) && maxChanges >= 0, `change history: bad maxChanges ${maxChanges}`);
    this.completeAfter = startZxid;
    this.lastZxid = startZxid;
  }

  /** The changes applied at `zxid` (entries come in increasing zxid order). */
  record(zxid: number, changes: readonly AppliedChange[]): void {
    nodeInvariant(zxid > this.lastZxid, `change history: zxid ${zxid} after ${this.lastZxid}`);
    this.lastZxid = zxid;
    if (changes.length === 0) return;
    this.entries.push({ zxid, changes });
    this.changeCount += changes.length;
    while (this.changeCount > this.maxChanges) {
      const oldest = this.entries[this.head];
      nodeInvariant(oldest !== undefined, "change history: count without entries");
      this.head++;
      this.changeCount -= oldest.changes.length;
      this.completeAfter = oldest.zxid;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The tree jumped to `zxid` (a snapshot): nothing before it is known here. */
  reset(zxid: number): void {
    this.entries = [];
    this.head = 0;
    this.changeCount = 0;
    this.completeAfter = zxid;
    this.lastZxid = zxid;
  }

  /** Every entry with a zxid above `zxid`, oldest first; undefined when some may be missing. */
  after(zxid: number): readonly HistoryEntry[] | undefined {
    if (zxid < this.completeAfter) return undefined;
    // Binary search for the first entry above zxid.
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle]!.zxid <= zxid) low = middle + 1;
      else high = middle;
    }
    return this.entries.slice(low);
  }

  /** Changes held (at most maxChanges). */
  get size(): number {
    return this.changeCount;
  }

  /** The lowest lastZxidSeen `after` can answer for. */
  get coversFrom(): number {
    return this.completeAfter;
  }
}
