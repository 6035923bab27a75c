import { invariant } from "./errors.js";
import type { Entry, Snapshot } from "./types.js";

/** Bytes an entry costs against append and uncommitted budgets (payload + a fixed header estimate). */
export function entryBytes(e: { readonly data: Uint8Array }): number {
  return e.data.byteLength + 24;
}

/**
 * The in-memory uncompacted log (etcd log.go + log_unstable.go folded
 * together): everything after the last snapshot, plus the bookkeeping of
 * what is durable (`persistedIndex`) and what has not been handed to the
 * application yet (`unstableFrom`).
 */
export class RaftLog {
  snapshotIndex = 0;
  snapshotTerm = 0;
  /** entries[i].index === snapshotIndex + 1 + i */
  entries: Entry[] = [];
  committed = 0;
  applied = 0;
  /** Every entry <= persistedIndex is durable and equal to ours. */
  persistedIndex = 0;
  /** The first index not yet handed out in a Ready for persisting. */
  unstableFrom = 1;
  /** A snapshot received from the leader, not yet handed out for persisting/installing. */
  pendingSnapshot: Snapshot | null = null;
  /** The newest snapshot we know (ours from compaction, or an installed one): what we send to lagging peers. */
  snapshot: Snapshot | null = null;

  constructor(snapshot: Snapshot | null, entries: readonly Entry[]) {
    if (snapshot !== null) {
      this.snapshotIndex = snapshot.meta.index;
      this.snapshotTerm = snapshot.meta.term;
      this.snapshot = snapshot;
    }
    let expected = this.snapshotIndex + 1;
    for (const e of entries) {
      if (e.index < expected) continue; // covered by the snapshot
      invariant(e.index === expected, () => `recovered log not contiguous at ${e.index}, expected ${expected}`);
      this.entries.push(e);
      expected++;
    }
    this.committed = this.snapshotIndex;
    this.applied = this.snapshotIndex;
    this.persistedIndex = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.snapshotTerm : (this.entries[n - 1] as Entry).term;
  }

  /** The term at `index`, or undefined if compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return (this.entries[index - this.snapshotIndex - 1] as Entry).term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1 election restriction: is a candidate's log at least as up-to-date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** First index in `entries` that is new or conflicts with ours, or 0 if all are already present. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (e.index <= this.snapshotIndex) continue;
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** Appends `entries` (contiguous), truncating our suffix from the first one's index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    invariant(first > this.committed, () => `append at ${first} would overwrite committed ${this.committed}`);
    invariant(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first <= this.lastIndex()) {
      this.entries.length = first - this.snapshotIndex - 1;
      if (this.persistedIndex >= first) this.persistedIndex = first - 1;
      if (this.unstableFrom > first) this.unstableFrom = first;
    }
    for (const e of entries) this.entries.push(e);
  }

  /** Entries in [lo, hi) limited by count and bytes; always at least one if lo < hi. Undefined if compacted. */
  slice(lo: number, hi: number, maxBytes: number, maxCount: number): Entry[] | undefined {
    if (lo <= this.snapshotIndex) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi && out.length < maxCount; i++) {
      const e = this.entries[i - this.snapshotIndex - 1] as Entry;
      const b = entryBytes(e);
      if (out.length > 0 && bytes + b > maxBytes) break;
      out.push(e);
      bytes += b;
    }
    return out;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    invariant(index <= this.lastIndex(), () => `commitTo(${index}) beyond lastIndex ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Replaces the whole log with a snapshot from the leader (§7 InstallSnapshot, receiver rule 7). */
  restore(snapshot: Snapshot): void {
    invariant(snapshot.meta.index > this.committed, "restore below commit");
    this.snapshotIndex = snapshot.meta.index;
    this.snapshotTerm = snapshot.meta.term;
    this.entries = [];
    this.committed = snapshot.meta.index;
    this.applied = Math.min(this.applied, snapshot.meta.index);
    this.persistedIndex = Math.min(this.persistedIndex, snapshot.meta.index);
    this.unstableFrom = snapshot.meta.index + 1;
    this.pendingSnapshot = snapshot;
    this.snapshot = snapshot;
  }

  /** Drops entries <= snapshot.meta.index, which the application has captured (§7 log compaction). */
  compact(snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    invariant(index > this.snapshotIndex && index <= this.applied, () => `compact(${index}) outside (${this.snapshotIndex}, ${this.applied}]`);
    invariant(this.term(index) === snapshot.meta.term, "compact: snapshot term mismatch");
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = snapshot.meta.term;
    this.snapshot = snapshot;
  }
}
