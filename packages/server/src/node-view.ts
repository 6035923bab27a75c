import type { RaftCoreStatus, StateMachine } from "./ports.js";

/**
 * What a node's actors publish about themselves for each other (read-only
 * lookups on the same event loop: who leads, how far the tree is) and for
 * the status API. Only the owning actor writes each field.
 */
export interface NodeView {
  raft: RaftCoreStatus;
  appliedIndex: number;
  /** The tree, for read-only lookups (session table) by the tracker and status. */
  stateMachine: StateMachine;
  connections: number;
  sessionsHere: number;
  counters: NodeCounters;
  /** Set by the admin metrics: called when a response leaves, with the time since the request arrived. */
  requestDone: ((op: string, durationMs: number) => void) | undefined;
}

export interface NodeCounters {
  requests: Record<string, number>;
  proposals: number;
  forwards: number;
  elections: number;
  readIndexRequests: number;
  rejectedRequests: number;
  malformedMessages: number;
  /** Raft messages from members dropped because a term, index or size was beyond its bound (consensus MAX_RAFT_TERM ...). */
  raftOutOfBounds: number;
  snapshotsTaken: number;
  /** Client writes refused before proposing: their entry would not decode on a replica or is too large (client-input.ts). */
  writesRefused: number;
  /** addAuth requests and connect credentials refused (unsupported, malformed, too long, too many). */
  authRefused: number;
  /** Watch events not delivered because the watcher may not READ the node (CVE-2024-23944). */
  watchEventsHidden: number;
  /** Session attaches refused for a wrong secret or an unknown session. */
  attachesFailed: number;
  /** Attaches refused without a check because their session or endpoint used up its failed-attach bound. */
  attachesRateLimited: number;
  /** Entries the leader refused to propose because they would not decode (a bug upstream: the sessions actor checks first). */
  entriesRefused: number;
  /** Writes applied as no-ops because an earlier seq of their session was still missing (re-sent later). */
  outOfOrderSkipped: number;
  /** Reconnects whose persistent watches may have missed events (the change history did not reach back). */
  watchGaps: number;
  sessionsExpired: number;
  /** Client-port (ZooKeeper wire) connections closed, by ZkCloseReason code (Malformed, OutstandingLimit, OutputBudget, SessionMoved ...). */
  clientStreamsClosed: Record<string, number>;
  /** Client-port connections refused at once: the node held clientMaxConnections. */
  clientStreamsRefused: number;
  fsyncCount: number;
  fsyncTotalMs: number;
}

export function newCounters(): NodeCounters {
  return {
    requests: {},
    proposals: 0,
    forwards: 0,
    elections: 0,
    readIndexRequests: 0,
    rejectedRequests: 0,
    malformedMessages: 0,
    raftOutOfBounds: 0,
    snapshotsTaken: 0,
    writesRefused: 0,
    authRefused: 0,
    watchEventsHidden: 0,
    attachesFailed: 0,
    attachesRateLimited: 0,
    entriesRefused: 0,
    outOfOrderSkipped: 0,
    watchGaps: 0,
    sessionsExpired: 0,
    clientStreamsClosed: {},
    clientStreamsRefused: 0,
    fsyncCount: 0,
    fsyncTotalMs: 0,
  };
}

/** Actor names on every node (also the wire names for node-to-node messages). */
export const ActorName = {
  raft: "raft",
  applier: "applier",
  sessions: "sessions",
  tracker: "tracker",
} as const;
