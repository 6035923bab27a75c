/**
 * Client options, their defaults and validation. Every bound the client keeps
 * is here, named with its unit, and may be configured.
 */
import type { Clock, Logger, Network, Random } from "@corral/actors";
import type { StreamConnector } from "./stream.js";
import { BadArgumentsError, DEFAULT_MAX_ENTRY_BYTES, LimitExceededError, MAX_AUTH_IDS_PER_SESSION, digestIdentityFromCredentials, validatePath } from "@corral/protocol";

export interface ReconnectBackoff {
  /** Delay cap of the first round of attempts (default 50). */
  readonly baseMs: number;
  /** Upper bound of any delay between attempts (default 2,000). */
  readonly maxMs: number;
  /** Attempts in a round (one per node by default) before the delay cap doubles. */
  readonly attemptsPerRound?: number;
}

/** Options shared by `connect` (live) and `connectWith` (any environment). */
export interface ClientOptions {
  /** Cluster name: the frame tag the nodes use (default "corral"). */
  readonly cluster?: string;
  /** Requested session timeout; the node may negotiate it within its bounds (default 10,000). */
  readonly sessionTimeoutMs?: number;
  /** Node endpoint ids to connect to, from configuration (required; never discovered through Redis). */
  readonly nodes?: readonly string[];
  /** Every path is taken relative to this one ("/app"): prefixed on the way out, stripped from results and events. */
  readonly chroot?: string;
  /** Digest credentials "user:password" presented on every connection. */
  readonly auth?: readonly string[];
  /** A call not answered within this fails with OperationTimeoutError (default 30,000). */
  readonly requestTimeoutMs?: number;
  /** Calls in flight at once; one more fails with TooManyRequestsError (default 1,000). */
  readonly maxOutstandingRequests?: number;
  /** The first connection must be established within this, or connect fails with ConnectionLossError (default 20,000). */
  readonly connectTimeoutMs?: number;
  /** One attempt on one node gives up after this (default: max(1,000, sessionTimeoutMs / 2)). */
  readonly connectAttemptTimeoutMs?: number;
  /** close() waits at most this long for the node to confirm the session is closed (default 5,000). */
  readonly closeTimeoutMs?: number;
  readonly reconnectBackoff?: Partial<ReconnectBackoff>;
  /** Events or state changes a stream buffers for a slow consumer before failing it with LimitExceededError (default 1,024). */
  readonly maxBufferedEvents?: number;
  /** Watchers registered at once (default 100,000). */
  readonly maxWatchers?: number;
  /** Largest frame sent or accepted (default 4 MiB, as the nodes). */
  readonly maxFrameBytes?: number;
  /**
   * The nodes' largest Raft entry (their maxEntryBytes, default 2 MiB). A write
   * that could not fit in one is refused here with LimitExceededError before
   * it takes a seq, so the node never has to refuse it.
   */
  readonly maxEntryBytes?: number;
  readonly logger?: Logger;
}

/** The injected environment of `connectWith`: simulation passes its own. */
export interface ClientEnv {
  /** The frame network (Redis Streams live, in memory in simulation): Corral's session protocol. */
  readonly network?: Network;
  /**
   * Byte streams to servers speaking ZooKeeper's wire protocol (TCP live):
   * when set, `nodes` are "host:port" addresses and the client works against
   * Corral's client port or an Apache ZooKeeper server.
   */
  readonly streams?: StreamConnector;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger?: Logger;
}

export interface ResolvedClientOptions {
  readonly cluster: string;
  readonly sessionTimeoutMs: number;
  readonly nodes: readonly string[];
  readonly chroot: string;
  readonly auth: readonly string[];
  readonly requestTimeoutMs: number;
  readonly maxOutstandingRequests: number;
  readonly connectTimeoutMs: number;
  readonly connectAttemptTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly reconnectBackoff: Required<ReconnectBackoff>;
  readonly maxBufferedEvents: number;
  readonly maxWatchers: number;
  readonly maxFrameBytes: number;
  readonly maxEntryBytes: number;
}

const MAX_NODES = 64;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new BadArgumentsError(undefined, { cause: `${name} must be an integer >= ${min}, got ${String(value)}` });
  return value;
}

/** Fill defaults and validate; a bad option is a BadArgumentsError naming it. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const cluster = options.cluster ?? "corral";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(cluster)) throw new BadArgumentsError(undefined, { cause: "cluster must be 1-64 characters of [A-Za-z0-9_.-]" });
  const nodes = options.nodes ?? [];
  if (nodes.length === 0 || nodes.length > MAX_NODES) throw new BadArgumentsError(undefined, { cause: `nodes must list 1..${MAX_NODES} node ids` });
  for (const node of nodes) if (typeof node !== "string" || node.length === 0 || node.length > 128) throw new BadArgumentsError(undefined, { cause: `bad node id ${JSON.stringify(node)}` });
  let chroot = options.chroot ?? "";
  if (chroot === "/") chroot = "";
  if (chroot !== "") {
    const invalid = validatePath(chroot);
    if (invalid !== undefined) throw new BadArgumentsError(chroot, { cause: `chroot: ${invalid.message}` });
  }
  const auth = options.auth ?? [];
  if (auth.length > MAX_AUTH_IDS_PER_SESSION) throw new LimitExceededError(undefined, { cause: `at most ${MAX_AUTH_IDS_PER_SESSION} auth entries` });
  for (const credentials of auth) {
    if (typeof credentials !== "string" || credentials.indexOf(":") <= 0) {
      throw new BadArgumentsError(undefined, { cause: "auth entries must be digest credentials \"user:password\"" });
    }
    const identity = digestIdentityFromCredentials("digest", credentials);
    if (identity instanceof Error) throw identity;
  }
  const sessionTimeoutMs = positiveInt("sessionTimeoutMs", options.sessionTimeoutMs, 10_000, 100);
  const backoff = options.reconnectBackoff ?? {};
  const baseMs = positiveInt("reconnectBackoff.baseMs", backoff.baseMs, 50);
  const maxMs = positiveInt("reconnectBackoff.maxMs", backoff.maxMs, 2_000);
  if (maxMs < baseMs) throw new BadArgumentsError(undefined, { cause: "reconnectBackoff.maxMs must be >= baseMs" });
  return {
    cluster,
    sessionTimeoutMs,
    nodes: [...nodes],
    chroot,
    auth: [...auth],
    requestTimeoutMs: positiveInt("requestTimeoutMs", options.requestTimeoutMs, 30_000),
    maxOutstandingRequests: positiveInt("maxOutstandingRequests", options.maxOutstandingRequests, 1_000),
    connectTimeoutMs: positiveInt("connectTimeoutMs", options.connectTimeoutMs, 20_000),
    connectAttemptTimeoutMs: positiveInt("connectAttemptTimeoutMs", options.connectAttemptTimeoutMs, Math.max(1_000, Math.floor(sessionTimeoutMs / 2))),
    closeTimeoutMs: positiveInt("closeTimeoutMs", options.closeTimeoutMs, 5_000),
    reconnectBackoff: { baseMs, maxMs, attemptsPerRound: positiveInt("reconnectBackoff.attemptsPerRound", backoff.attemptsPerRound, nodes.length) },
    maxBufferedEvents: positiveInt("maxBufferedEvents", options.maxBufferedEvents, 1_024),
    maxWatchers: positiveInt("maxWatchers", options.maxWatchers, 100_000),
    maxFrameBytes: positiveInt("maxFrameBytes", options.maxFrameBytes, 4 * 1024 * 1024, 1024),
    maxEntryBytes: positiveInt("maxEntryBytes", options.maxEntryBytes, DEFAULT_MAX_ENTRY_BYTES, 64 * 1024),
  };
}
