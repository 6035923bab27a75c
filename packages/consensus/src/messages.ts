import type { ConfState, Entry, EntryType, NodeId } from "./types.js";

/**
 * Raft wire messages, a discriminated union on `type`. Every message carries
 * from/to/term. `MsgProp`, `MsgReadIndex` and `MsgTransferLeader` are
 * forwarded requests: their `term` is 0 and never changes the receiver's term
 * (as etcd treats them as local messages).
 */
export const MessageType = {
  Vote: "MsgVote",
  VoteResp: "MsgVoteResp",
  PreVote: "MsgPreVote",
  PreVoteResp: "MsgPreVoteResp",
  App: "MsgApp",
  AppResp: "MsgAppResp",
  Heartbeat: "MsgHeartbeat",
  HeartbeatResp: "MsgHeartbeatResp",
  Snap: "MsgSnap",
  SnapResp: "MsgSnapResp",
  ReadIndex: "MsgReadIndex",
  ReadIndexResp: "MsgReadIndexResp",
  TimeoutNow: "MsgTimeoutNow",
  TransferLeader: "MsgTransferLeader",
  Prop: "MsgProp",
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

interface Header {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface MsgVote extends Header {
  readonly type: "MsgVote" | "MsgPreVote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Sent by a transfer target after MsgTimeoutNow: receivers skip their leader-lease check. */
  readonly transfer: boolean;
}

export interface MsgVoteResp extends Header {
  readonly type: "MsgVoteResp" | "MsgPreVoteResp";
  readonly reject: boolean;
}

export interface MsgApp extends Header {
  readonly type: "MsgApp";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface MsgAppResp extends Header {
  readonly type: "MsgAppResp";
  /** On success: the follower's last index matching the leader. On reject: the rejected prevIndex. */
  readonly index: number;
  readonly reject: boolean;
  /** Fast backtracking hint (reject only): term of the follower's entry at prevIndex (0 if its log is shorter). */
  readonly conflictTerm: number;
  /** Reject only: first index of `conflictTerm` in the follower's log (its lastIndex + 1 if shorter). */
  readonly conflictIndex: number;
}

export interface MsgHeartbeat extends Header {
  readonly type: "MsgHeartbeat";
  readonly commit: number;
  /** ReadIndex round this heartbeat confirms (0: none). */
  readonly readSeq: number;
}

export interface MsgHeartbeatResp extends Header {
  readonly type: "MsgHeartbeatResp";
  readonly readSeq: number;
}

export interface MsgSnap extends Header {
  readonly type: "MsgSnap";
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  readonly conf: ConfState;
  readonly offset: number;
  readonly totalBytes: number;
  readonly data: Uint8Array;
}

export interface MsgSnapResp extends Header {
  readonly type: "MsgSnapResp";
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  /** How many bytes the follower holds in order (the next offset it wants). */
  readonly nextOffset: number;
  readonly reject: boolean;
}

export interface MsgReadIndex extends Header {
  readonly type: "MsgReadIndex";
  readonly context: Uint8Array;
}

export interface MsgReadIndexResp extends Header {
  readonly type: "MsgReadIndexResp";
  readonly context: Uint8Array;
  readonly index: number;
}

export interface MsgTimeoutNow extends Header {
  readonly type: "MsgTimeoutNow";
}

export interface MsgTransferLeader extends Header {
  readonly type: "MsgTransferLeader";
  readonly transferee: NodeId;
}

export interface ProposedEntry {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface MsgProp extends Header {
  readonly type: "MsgProp";
  readonly entries: readonly ProposedEntry[];
}

export type RaftMessage =
  | MsgVote
  | MsgVoteResp
  | MsgApp
  | MsgAppResp
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgSnap
  | MsgSnapResp
  | MsgReadIndex
  | MsgReadIndexResp
  | MsgTimeoutNow
  | MsgTransferLeader
  | MsgProp;
