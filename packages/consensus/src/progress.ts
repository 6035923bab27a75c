import { Inflights } from "./inflights.js";

/** How the leader replicates to one peer (etcd tracker/progress.go). */
export const ProgressState = {
  /** Unknown match: one append at a time, wait for the answer. */
  Probe: "probe",
  /** Known match: stream appends optimistically, bounded by the inflight window. */
  Replicate: "replicate",
  /** The peer needs entries we compacted: send the snapshot in chunks. */
  Snapshot: "snapshot",
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Probe state: an append is outstanding; wait for a response or a heartbeat response. */
  probeSent = false;
  /** Snapshot state: the index/term of the snapshot being sent and how far the peer has acknowledged. */
  pendingSnapshotIndex = 0;
  pendingSnapshotTerm = 0;
  snapshotOffset = 0;
  /** Heard from in the current check-quorum window. */
  recentActive = false;
  /** Heartbeat responses seen while match stayed below the leader's last index (stall detection). */
  stalledHeartbeats = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflightAppends: number,
    maxInflightBytes: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightAppends, maxInflightBytes);
  }

  becomeProbe(): void {
    // From snapshot state the peer holds at least the snapshot.
    if (this.state === ProgressState.Snapshot) {
      this.next = Math.max(this.match + 1, this.pendingSnapshotIndex + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = ProgressState.Probe;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.snapshotOffset = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = ProgressState.Replicate;
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshotIndex = 0;
    this.inflights.reset();
  }

  becomeSnapshot(index: number, term: number): void {
    this.state = ProgressState.Snapshot;
    this.pendingSnapshotIndex = index;
    this.pendingSnapshotTerm = term;
    this.snapshotOffset = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** A successful append response up to `index`. Returns whether match advanced. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      this.stalledHeartbeats = 0;
      updated = true;
    }
    if (this.next < index + 1) this.next = index + 1;
    this.probeSent = false;
    return updated;
  }

  /**
   * A rejection of the append at prevIndex `rejected`; `hintNext` is where the
   * hint says to retry. Returns false for a stale rejection (ignored).
   */
  maybeDecrTo(rejected: number, hintNext: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = Math.max(this.match + 1, Math.min(rejected, hintNext));
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(this.match + 1, Math.min(rejected, hintNext));
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
