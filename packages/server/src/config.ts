import { DEFAULT_MAX_ENTRY_BYTES, SESSION_CLAIM_SEQ_GAP } from "@corral/protocol";
import { InvalidNodeConfig } from "./errors.js";

/** Everything that tunes one node. All limits are explicit (STYLE: a limit on everything). */
export interface NodeConfig {
  readonly nodeId: string;
  /** Every voter's id, including this node's. */
  readonly peers: readonly string[];
  readonly clusterName: string;
  /** Raft tick period. */
  readonly tickMs: number;
  /** Election timeout in ticks (randomised in [n, 2n) by the core). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** Requests a session may have unanswered on this node; beyond it: TooManyRequests. */
  readonly maxOutstandingPerSession: number;
  /** Client connections (channels) this node hosts. */
  readonly maxConnections: number;
  /** New sessions this node forwards per second (token bucket). */
  readonly maxNewSessionsPerSecond: number;
  /** Live sessions in the ensemble; createSession beyond it is refused. */
  readonly maxSessions: number;
  /** Largest frame accepted or sent (also the max request size). */
  readonly maxFrameBytes: number;
  /**
   * Largest Raft entry (encoded). A client request whose entry would be larger
   * is refused with LimitExceeded before anything is proposed; the Raft core
   * refuses larger entries too. At most 3/4 of maxFrameBytes less 64 KiB, so
   * an append carrying one (base64 in the peer frame) always fits a frame.
   * The default fits the tree's largest znode data (1 MiB) with room to spare.
   */
  readonly maxEntryBytes: number;
  /** Failed session attaches (wrong secret) per session per window on this node; beyond: TooManyRequests. */
  readonly maxFailedAttachesPerSession: number;
  /** Failed attaches (any reason) per client endpoint per window on this node; beyond: TooManyRequests. */
  readonly maxFailedAttachesPerEndpoint: number;
  /** The window the two failed-attach bounds count in. */
  readonly failedAttachWindowMs: number;
  /** How often unapplied forwarded writes are re-sent to the leader. */
  readonly forwardRetryMs: number;
  /** Entries between tree snapshots (0 = never). */
  readonly snapshotEveryEntries: number;
  /** Reads/sync waiting for the local tree to catch up. */
  readonly maxWaitingReads: number;
  /** How often the leader looks for emptied containers and expired TTL nodes. */
  readonly reapIntervalMs: number;
  /**
   * Recent tree changes (one per created/deleted/changed node or children
   * list) the applier keeps so that a client reconnecting here gets exactly
   * the persistent and persistent-recursive watch events it missed, deletions
   * included. A client away for longer than this many changes (or across a
   * snapshot installed into this node) gets what the tree still shows and
   * `watchGap: true`. About 100 bytes per change plus the path strings, most
   * of them shared with the tree. 0 keeps none.
   */
  readonly watchReplayMaxChanges: number;
  /** ZooKeeper client-port (stream) connections this node holds at once; one more is closed at once. */
  readonly clientMaxConnections: number;
  /** A client-port connection that has not connected within this is closed. */
  readonly clientConnectTimeoutMs: number;
  /** A connected client-port connection that sends nothing for this long is closed (0: its negotiated session timeout). */
  readonly clientIdleTimeoutMs: number;
  /** Unanswered requests per client-port connection: at half of it the node stops reading; beyond it, the connection is closed. */
  readonly clientMaxOutstandingPerConnection: number;
  /** Bytes written to a client-port connection and not yet taken by the client; beyond it, the connection is closed. */
  readonly clientMaxBufferedOutputBytes: number;
  /** Largest ZooKeeper packet a client may send (its jute length prefix). */
  readonly clientMaxPacketBytes: number;
}

export const defaultNodeConfig: Omit<NodeConfig, "nodeId" | "peers"> = {
  clusterName: "corral",
  tickMs: 10,
  electionTicks: 15,
  heartbeatTicks: 3,
  minSessionTimeoutMs: 2_000,
  maxSessionTimeoutMs: 60_000,
  maxOutstandingPerSession: 1_000,
  maxConnections: 10_000,
  maxNewSessionsPerSecond: 1_000,
  maxSessions: 100_000,
  maxFrameBytes: 4 * 1024 * 1024,
  maxEntryBytes: DEFAULT_MAX_ENTRY_BYTES,
  maxFailedAttachesPerSession: 5,
  maxFailedAttachesPerEndpoint: 10,
  failedAttachWindowMs: 10_000,
  forwardRetryMs: 200,
  snapshotEveryEntries: 10_000,
  maxWaitingReads: 10_000,
  reapIntervalMs: 1_000,
  watchReplayMaxChanges: 16_384,
  clientMaxConnections: 4_096,
  clientConnectTimeoutMs: 10_000,
  clientIdleTimeoutMs: 0,
  clientMaxOutstandingPerConnection: 1_000,
  clientMaxBufferedOutputBytes: 16 * 1024 * 1024,
  clientMaxPacketBytes: 1_114_112,
};

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function positiveInt(config: NodeConfig, field: keyof NodeConfig, min = 1): void {
  const value = config[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidNodeConfig(field, `expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
}

/** Fill defaults and validate. Throws InvalidNodeConfig naming the field. */
export function resolveNodeConfig(input: Partial<NodeConfig> & Pick<NodeConfig, "nodeId" | "peers">): NodeConfig {
  let config: NodeConfig = { ...defaultNodeConfig, ...input };
  if (!NODE_ID.test(config.nodeId)) throw new InvalidNodeConfig("nodeId", `"${config.nodeId}" must match ${NODE_ID.source}`);
  if (!Array.isArray(config.peers) || config.peers.length === 0) throw new InvalidNodeConfig("peers", "expected a non-empty list of node ids");
  for (const peer of config.peers) if (!NODE_ID.test(peer)) throw new InvalidNodeConfig("peers", `"${peer}" is not a valid node id`);
  if (new Set(config.peers).size !== config.peers.length) throw new InvalidNodeConfig("peers", "duplicate node ids");
  if (!config.peers.includes(config.nodeId)) throw new InvalidNodeConfig("peers", `must include this node (${config.nodeId})`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(config.clusterName)) throw new InvalidNodeConfig("clusterName", "1-64 characters of [A-Za-z0-9_.-]");
  for (const field of ["tickMs", "electionTicks", "heartbeatTicks", "minSessionTimeoutMs", "maxSessionTimeoutMs", "maxOutstandingPerSession",
    "maxConnections", "maxNewSessionsPerSecond", "maxSessions", "maxFrameBytes", "forwardRetryMs", "maxWaitingReads", "reapIntervalMs"] as const) {
    positiveInt(config, field);
  }
  for (const field of ["maxEntryBytes", "maxFailedAttachesPerSession", "maxFailedAttachesPerEndpoint", "failedAttachWindowMs"] as const) positiveInt(config, field);
  const maxEntryBytesLimit = Math.floor(((config.maxFrameBytes - 64 * 1024) * 3) / 4);
  // Unset: the default, shrunk to fit smaller frames.
  if (input.maxEntryBytes === undefined) config = { ...config, maxEntryBytes: Math.max(64 * 1024, Math.min(defaultNodeConfig.maxEntryBytes, maxEntryBytesLimit)) };
  if (config.maxEntryBytes < 64 * 1024 || config.maxEntryBytes > maxEntryBytesLimit) {
    throw new InvalidNodeConfig("maxEntryBytes", `must be 64 KiB..${maxEntryBytesLimit} (3/4 of maxFrameBytes less 64 KiB), got ${config.maxEntryBytes}`);
  }
  positiveInt(config, "snapshotEveryEntries", 0);
  positiveInt(config, "watchReplayMaxChanges", 0);
  for (const field of ["clientMaxConnections", "clientConnectTimeoutMs", "clientMaxOutstandingPerConnection", "clientMaxBufferedOutputBytes", "clientMaxPacketBytes"] as const) {
    positiveInt(config, field);
  }
  positiveInt(config, "clientIdleTimeoutMs", 0);
  // Unset: the default, shrunk to the sessions actor's own bound.
  if (input.clientMaxOutstandingPerConnection === undefined) {
    config = { ...config, clientMaxOutstandingPerConnection: Math.min(defaultNodeConfig.clientMaxOutstandingPerConnection, config.maxOutstandingPerSession) };
  }
  if (config.clientMaxOutstandingPerConnection > config.maxOutstandingPerSession) {
    throw new InvalidNodeConfig("clientMaxOutstandingPerConnection", "must not exceed maxOutstandingPerSession (the sessions actor's own bound)");
  }
  // A claim moves a session's seq by SESSION_CLAIM_SEQ_GAP: more than one connection can have in flight, so owners' seqs never meet.
  if (2 * config.maxOutstandingPerSession >= SESSION_CLAIM_SEQ_GAP) {
    throw new InvalidNodeConfig("maxOutstandingPerSession", `must be below ${SESSION_CLAIM_SEQ_GAP / 2}`);
  }
  if (config.heartbeatTicks >= config.electionTicks) throw new InvalidNodeConfig("heartbeatTicks", "must be less than electionTicks");
  if (config.minSessionTimeoutMs > config.maxSessionTimeoutMs) throw new InvalidNodeConfig("minSessionTimeoutMs", "must not exceed maxSessionTimeoutMs");
  if (config.minSessionTimeoutMs < 2 * config.tickMs * config.electionTicks) {
    throw new InvalidNodeConfig("minSessionTimeoutMs", "must be at least two election timeouts, or sessions expire across every leader change");
  }
  return config;
}
