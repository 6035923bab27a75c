import type { NodeId } from "./types.js";

/** A broken internal invariant: crash rather than corrupt (TigerBeetle-style assertion). */
export class InvariantViolation extends Error {
  readonly _tag = "InvariantViolation";
  readonly code = "INVARIANT_VIOLATION";
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

/** Throws `InvariantViolation` unless `condition` holds. */
export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === "string" ? message : message());
}

/** The proposal reached a node that is not the leader; `leaderId` is who it believes leads (or null). */
export class NotLeaderError extends Error {
  readonly _tag = "NotLeader";
  readonly code = "NOT_LEADER";
  constructor(readonly leaderId: NodeId | null) {
    super(leaderId === null ? "not the leader; no leader known" : `not the leader; leader is ${leaderId}`);
    this.name = "NotLeaderError";
  }
}

export const ProposalDropReason = {
  TransferInProgress: "transferInProgress",
  UncommittedBytesLimit: "uncommittedBytesLimit",
  ConfChangePending: "confChangePending",
  InvalidConfChange: "invalidConfChange",
  EntryTooLarge: "entryTooLarge",
} as const;
export type ProposalDropReason = (typeof ProposalDropReason)[keyof typeof ProposalDropReason];

/** The leader refused the proposal; nothing was appended. Retry later (or fix the request). */
export class ProposalDroppedError extends Error {
  readonly _tag = "ProposalDropped";
  readonly code = "PROPOSAL_DROPPED";
  constructor(readonly reason: ProposalDropReason, detail?: string) {
    super(`proposal dropped: ${reason}${detail === undefined ? "" : ` (${detail})`}`);
    this.name = "ProposalDroppedError";
  }
}

/** A Raft message (or ConfChange) failed strict decoding. Returned, never thrown. */
export class DecodeError extends Error {
  readonly _tag = "DecodeError";
  readonly code = "DECODE_ERROR";
  constructor(readonly reason: string) {
    super(`raft decode error: ${reason}`);
    this.name = "DecodeError";
  }
}

/** `compact()` was asked for an index that is not applied, already compacted, or beyond the log. */
export class CompactError extends Error {
  readonly _tag = "CompactError";
  readonly code = "COMPACT_ERROR";
  constructor(readonly index: number, reason: string) {
    super(`cannot compact at ${index}: ${reason}`);
    this.name = "CompactError";
  }
}
