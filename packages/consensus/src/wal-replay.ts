/**
 * Rebuilds the log from WAL records in write order (pure; no I/O), checking
 * what must hold of acknowledged data: segments chain up, indexes are
 * contiguous, terms never go back. Any violation is a StorageCorruptionError
 * naming the file and byte offset of the offending record.
 */
import { StorageCorruptionError } from "./wal-errors.js";
import { RecordKind } from "./wal-format.js";
import type { WalRecord } from "./wal-format.js";
import type { Entry, HardState } from "./types.js";

export class LogReplay {
  /** Index just before the first entry held; entries are (base, lastIndex]. */
  base = 0;
  /** Term at `base`; null when a truncation reached below what this replay has seen. */
  baseTerm: number | null = 0;
  readonly log: Entry[] = [];
  hardState: HardState | null = null;
  private started = false;
  private lastSeq = 0;

  get lastIndex(): number {
    return this.base + this.log.length;
  }

  /** Term of entry `index`, null when unknown (below base, or the base term was lost). */
  termAt(index: number): number | null {
    if (index === this.base) return this.baseTerm;
    if (index < this.base || index > this.lastIndex) return null;
    return (this.log[index - this.base - 1] as Entry).term;
  }

  /**
   * Applies one record. `firstInSegment` marks a segment's first record, which
   * must be its SegmentStart. Returns the lowest index the record rewrote
   * (for compaction), Infinity when it touched no entries.
   */
  apply(record: WalRecord, file: string, offset: number, firstInSegment: boolean, segmentSeq: number): number {
    const corrupt = (reason: string): StorageCorruptionError => new StorageCorruptionError(file, offset, reason);
    if (firstInSegment !== (record.kind === RecordKind.SegmentStart)) {
      throw corrupt(firstInSegment ? "segment does not begin with a SegmentStart record" : "SegmentStart record inside a segment");
    }
    switch (record.kind) {
      case RecordKind.SegmentStart: {
        if (record.seq !== segmentSeq) throw corrupt(`SegmentStart says seq ${record.seq}, file name says ${segmentSeq}`);
        if (!this.started) {
          this.started = true;
          this.base = record.prevIndex;
          this.baseTerm = record.prevTerm;
        } else {
          if (record.seq !== this.lastSeq + 1) throw corrupt(`segment ${record.seq} follows segment ${this.lastSeq}: a segment is missing`);
          if (record.prevIndex !== this.lastIndex) throw corrupt(`segment starts after index ${record.prevIndex} but the log ends at ${this.lastIndex}`);
          const known = this.termAt(record.prevIndex);
          if (known !== null && known !== record.prevTerm) throw corrupt(`segment starts after term ${record.prevTerm} but the log has term ${known}`);
        }
        this.lastSeq = record.seq;
        if (record.hardState !== null) this.setHardState(record.hardState, corrupt);
        return Infinity;
      }
      case RecordKind.Batch: {
        if (record.hardState !== null) this.setHardState(record.hardState, corrupt);
        const first = record.entries[0];
        if (first === undefined) return Infinity;
        if (first.index > this.lastIndex + 1) throw corrupt(`entries start at ${first.index} but the log ends at ${this.lastIndex}: a gap`);
        const previousTerm = this.termAt(first.index - 1);
        if (first.index - 1 < this.base) {
          // Rewrites below anything this replay has seen (older segments were
          // deleted by compaction): the log restarts here, its previous term unknown.
          this.log.length = 0;
          this.base = first.index - 1;
          this.baseTerm = null;
        } else {
          this.log.length = first.index - 1 - this.base;
        }
        let term = previousTerm ?? 0;
        for (const entry of record.entries) {
          if (entry.term < term) throw corrupt(`entry ${entry.index} has term ${entry.term} after term ${term}`);
          term = entry.term;
          this.log.push(entry);
        }
        return first.index;
      }
      case RecordKind.Reset: {
        this.log.length = 0;
        this.base = record.index;
        this.baseTerm = record.term;
        return -Infinity;
      }
    }
  }

  private setHardState(hardState: HardState, corrupt: (reason: string) => StorageCorruptionError): void {
    if (this.hardState !== null && hardState.term < this.hardState.term) {
      throw corrupt(`hard state term ${hardState.term} after term ${this.hardState.term}`);
    }
    this.hardState = hardState;
  }
}

export interface CompactableSegment {
  /** Lowest index any record of the segment rewrote (-Infinity for a reset, Infinity for none). */
  readonly lowestTouchedIndex: number;
}

/**
 * How many of the oldest segments can be deleted once a snapshot covers
 * `snapshotIndex`: a prefix may go when every entry it still contributes to
 * the log has an index <= snapshotIndex. The last (active) segment always stays.
 */
export function deletableSegmentCount(segments: readonly CompactableSegment[], lastIndex: number, snapshotIndex: number): number {
  let count = 0;
  // suffixLowest[k] = lowest index rewritten by segments k..end.
  const suffixLowest = new Array<number>(segments.length + 1).fill(Infinity);
  for (let k = segments.length - 1; k >= 0; k--) {
    suffixLowest[k] = Math.min(suffixLowest[k + 1] as number, (segments[k] as CompactableSegment).lowestTouchedIndex);
  }
  for (let k = 1; k < segments.length; k++) {
    // Deleting segments [0, k): the entries they still contribute are those
    // below the lowest index rewritten by segments k.. (and <= lastIndex).
    const contributedUpTo = Math.min(lastIndex, (suffixLowest[k] as number) - 1);
    if (contributedUpTo <= snapshotIndex) count = k;
    else break;
  }
  return count;
}
