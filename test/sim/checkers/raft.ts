/**
 * Raft safety, observed from outside the nodes: at most one leader per term
 * (Election Safety) and committed prefixes that agree (Log Matching + Leader
 * Completeness + State Machine Safety, seen as "an index once committed never
 * holds another entry" on any node).
 */
import type { Violations } from "./violation.js";

export interface RaftSample {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly commitIndex: number;
}

export interface LogEntrySample {
  readonly index: number;
  readonly term: number;
  /** Any stable fingerprint of the entry's bytes. */
  readonly fingerprint: string;
}

export class RaftChecker {
  private readonly leaderOfTerm = new Map<number, string>();
  /** index -> the committed entry's term and fingerprint, as first seen. */
  private readonly committed = new Map<number, { term: number; fingerprint: string; nodeId: string }>();
  leadersSeen = 0;
  entriesChecked = 0;

  constructor(private readonly violations: Violations) {}

  /** Role and term of every live node at one instant. */
  observeRoles(samples: readonly RaftSample[]): void {
    for (const sample of samples) {
      if (sample.role !== "leader") continue;
      const known = this.leaderOfTerm.get(sample.term);
      if (known === undefined) {
        this.leaderOfTerm.set(sample.term, sample.nodeId);
        this.leadersSeen++;
      } else if (known !== sample.nodeId) {
        this.violations.add("raft", `two leaders in term ${sample.term}: ${known} and ${sample.nodeId}`);
      }
    }
  }

  /** A node's (durable) log entries at or below its commit index. */
  observeCommitted(nodeId: string, commitIndex: number, entries: readonly LogEntrySample[]): void {
    for (const entry of entries) {
      if (entry.index > commitIndex) continue;
      this.entriesChecked++;
      const known = this.committed.get(entry.index);
      if (known === undefined) this.committed.set(entry.index, { term: entry.term, fingerprint: entry.fingerprint, nodeId });
      else if (known.term !== entry.term || known.fingerprint !== entry.fingerprint) {
        this.violations.add(
          "raft",
          `committed index ${entry.index} differs: ${known.nodeId} has term ${known.term} (${known.fingerprint}), ${nodeId} has term ${entry.term} (${entry.fingerprint})`,
        );
      }
    }
  }
}
