import { MessageType, type RaftMessage } from "./messages.js";

/**
 * Sane bounds on the numbers in a Raft message from a peer (DESIGN.md §12:
 * "terms, indexes and sizes outside sane bounds are rejected before they
 * touch the core"). The codec accepts any safe integer; a term near 2^53
 * would be adopted and then overflow the next time it is incremented (a
 * campaign), breaking every later encode and decode of it. 2^48 leaves a
 * margin of 32 doublings and is far beyond any real term, index or size: a
 * million elections or entries a second for 8 years.
 */
export const MAX_RAFT_TERM = 2 ** 48;
export const MAX_RAFT_INDEX = 2 ** 48;
/** Offsets and sizes of snapshot transfers, and ReadIndex round numbers. */
export const MAX_RAFT_COUNT = 2 ** 48;

/** A peer message carried a number beyond its bound; it must not reach the core. */
export class RaftMessageOutOfBounds {
  readonly _tag = "RaftMessageOutOfBounds";
  readonly code = "RAFT_MESSAGE_OUT_OF_BOUNDS";
  constructor(
    readonly field: string,
    readonly value: number,
    readonly max: number,
  ) {}
}

const over = (field: string, value: number, max: number): RaftMessageOutOfBounds | undefined => (value > max ? new RaftMessageOutOfBounds(field, value, max) : undefined);

/** The first field of `m` beyond its bound, or undefined when all are within. Pure, allocation-free when in bounds; bounded by the message's (codec-bounded) entry count. */
export function checkRaftMessageBounds(m: RaftMessage): RaftMessageOutOfBounds | undefined {
  const term = over("term", m.term, MAX_RAFT_TERM);
  if (term !== undefined) return term;
  switch (m.type) {
    case MessageType.Vote:
    case MessageType.PreVote:
      return over("lastLogTerm", m.lastLogTerm, MAX_RAFT_TERM) ?? over("lastLogIndex", m.lastLogIndex, MAX_RAFT_INDEX);
    case MessageType.App: {
      const header = over("prevTerm", m.prevTerm, MAX_RAFT_TERM) ?? over("prevIndex", m.prevIndex, MAX_RAFT_INDEX) ?? over("commit", m.commit, MAX_RAFT_INDEX);
      if (header !== undefined) return header;
      for (const entry of m.entries) {
        const bad = over("entries.term", entry.term, MAX_RAFT_TERM) ?? over("entries.index", entry.index, MAX_RAFT_INDEX);
        if (bad !== undefined) return bad;
      }
      return undefined;
    }
    case MessageType.AppResp:
      return over("conflictTerm", m.conflictTerm, MAX_RAFT_TERM) ?? over("index", m.index, MAX_RAFT_INDEX) ?? over("conflictIndex", m.conflictIndex, MAX_RAFT_INDEX);
    case MessageType.Heartbeat:
      return over("commit", m.commit, MAX_RAFT_INDEX) ?? over("readSeq", m.readSeq, MAX_RAFT_COUNT);
    case MessageType.HeartbeatResp:
      return over("readSeq", m.readSeq, MAX_RAFT_COUNT);
    case MessageType.Snap:
      return (
        over("snapshotTerm", m.snapshotTerm, MAX_RAFT_TERM) ??
        over("snapshotIndex", m.snapshotIndex, MAX_RAFT_INDEX) ??
        over("offset", m.offset, MAX_RAFT_COUNT) ??
        over("totalBytes", m.totalBytes, MAX_RAFT_COUNT)
      );
    case MessageType.SnapResp:
      return over("snapshotTerm", m.snapshotTerm, MAX_RAFT_TERM) ?? over("snapshotIndex", m.snapshotIndex, MAX_RAFT_INDEX) ?? over("nextOffset", m.nextOffset, MAX_RAFT_COUNT);
    case MessageType.ReadIndexResp:
      return over("index", m.index, MAX_RAFT_INDEX);
    default:
      return undefined;
  }
}
