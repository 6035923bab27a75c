/**
 * Admin HTTP for a live node (loopback by default): /health, /status (JSON),
 * /metrics (Prometheus text, prom-client). Read-only: nothing here changes
 * the node, so exposing it cannot harm the ensemble beyond information.
 *
 * Exposure: it binds to loopback unless told otherwise, and refuses any other
 * address without a bearer token (`--admin-token-file`); with a token every
 * request must carry `Authorization: Bearer <token>`, checked in constant
 * time. Connections, header size and the time to send a request are bounded.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { isIP } from "node:net";
import type { AddressInfo } from "node:net";
import type { Logger } from "@corral/actors";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CorralNode, NodeStatus } from "./node.js";

export interface AdminServerOptions {
  readonly node: CorralNode;
  readonly port: number;
  /** Default 127.0.0.1. Any address that is not loopback needs `token`. */
  readonly host?: string;
  readonly logger: Logger;
  /** Bearer token every request must carry (see loadAdminTokenFile). Required for a non-loopback host. */
  readonly token?: string;
  /** Bounds; the defaults suit a scraper and an operator's curl. */
  readonly limits?: Partial<AdminHttpLimits>;
}

export interface AdminHttpLimits {
  /** Open connections at once; more are refused by the server. */
  readonly maxConnections: number;
  /** Time a client has to send the request headers. */
  readonly headersTimeoutMs: number;
  /** Time a client has to send the whole request. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Largest request head. */
  readonly maxHeaderBytes: number;
}

export const defaultAdminHttpLimits: AdminHttpLimits = Object.freeze({
  maxConnections: 64,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 8 * 1024,
});

/** The admin token file cannot be read or holds no usable token. */
export class AdminTokenFileUnusable extends Error {
  readonly _tag = "AdminTokenFileUnusable";
  readonly code = "ADMIN_TOKEN_FILE_UNUSABLE";
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`admin token file ${path}: ${reason}`, options);
    this.name = "AdminTokenFileUnusable";
  }
}

/** Longest admin token file read. */
const MAX_TOKEN_FILE_BYTES = 4096;
/** Shortest token accepted: a guessable token is no protection. */
const MIN_TOKEN_LENGTH = 16;

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost" || host === "::1" || host === "[::1]") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (host.toLowerCase().startsWith("::ffff:")) return host.slice(7).startsWith("127.");
  return false;
}

/**
 * Reads an admin bearer token from a file (first line, trimmed; tokens never
 * come from argv or env, where other users and logs can see them). Refuses an
 * empty or short token; `permissionWarning` is set when others may read it.
 */
export function loadAdminTokenFile(path: string): { readonly token: string; readonly permissionWarning?: string } {
  let text: string;
  let mode: number;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AdminTokenFileUnusable(path, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  if (text.length > MAX_TOKEN_FILE_BYTES) throw new AdminTokenFileUnusable(path, `larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
  const token = (text.split("\n")[0] ?? "").trim();
  if (token.length < MIN_TOKEN_LENGTH) throw new AdminTokenFileUnusable(path, `the token must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -base64 32)`);
  if (/\s/.test(token)) throw new AdminTokenFileUnusable(path, "the token must not contain spaces");
  const permissionWarning = (mode & 0o077) !== 0 ? `admin token file ${path} is readable by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it` : undefined;
  return permissionWarning === undefined ? { token } : { token, permissionWarning };
}

/** Does the request carry `Authorization: Bearer <token>`? Constant time in the token's content (hashes are compared). */
function authorized(request: IncomingMessage, tokenDigest: Buffer): boolean {
  const header = request.headers.authorization;
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return false;
  const presented = createHash("sha256").update(header.slice(7), "utf8").digest();
  return timingSafeEqual(presented, tokenDigest);
}

export interface AdminServer {
  readonly url: string;
  readonly registry: Registry;
  close(): Promise<void>;
}

export class AdminServerFailed extends Error {
  readonly _tag = "AdminServerFailed";
  readonly code = "ADMIN_SERVER_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AdminServerFailed";
  }
}

/** Prometheus metrics computed from the node's status at scrape time, plus request latencies observed as they happen. */
export function nodeMetrics(node: CorralNode): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: node.id, cluster: node.config.clusterName });
  let snapshot: NodeStatus | undefined;
  const current = (): NodeStatus => (snapshot ??= node.status());

  const gauge = (name: string, help: string, value: (s: NodeStatus) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value(current()));
      },
    });
  };
  const counter = (name: string, help: string, value: (s: NodeStatus) => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(value(current()));
      },
    });
  };

  gauge("corral_raft_term", "Current Raft term", (s) => s.term);
  gauge("corral_raft_is_leader", "1 when this node leads", (s) => (s.role === "leader" ? 1 : 0));
  gauge("corral_raft_commit_index", "Highest committed log index", (s) => s.commitIndex);
  gauge("corral_applied_index", "Highest index applied to the tree", (s) => s.appliedIndex);
  gauge("corral_sessions", "Live sessions in the ensemble", (s) => s.sessions);
  gauge("corral_sessions_here", "Sessions connected to this node", (s) => s.sessionsHere);
  gauge("corral_connections", "Client connections on this node", (s) => s.connections);
  gauge("corral_watches", "Watches registered on this node", (s) => s.watches);
  counter("corral_proposals_total", "Entries proposed by this node as leader", (s) => s.counters.proposals);
  counter("corral_forwards_total", "Command batches forwarded to the leader", (s) => s.counters.forwards);
  counter("corral_elections_total", "Times this node became leader", (s) => s.counters.elections);
  counter("corral_fsync_total", "Durable log saves", (s) => s.counters.fsyncCount);
  counter("corral_fsync_seconds_total", "Time spent in durable log saves", (s) => s.counters.fsyncTotalMs / 1000);
  counter("corral_sessions_expired_total", "Sessions this node expired as leader", (s) => s.counters.sessionsExpired);
  counter("corral_snapshots_total", "Tree snapshots taken", (s) => s.counters.snapshotsTaken);
  counter("corral_requests_rejected_total", "Client requests refused by a limit or as invalid", (s) => s.counters.rejectedRequests);
  counter("corral_messages_malformed_total", "Client messages dropped as malformed", (s) => s.counters.malformedMessages);
  counter("corral_network_frames_dropped_total", "Frames dropped by the network endpoint", (s) => s.endpoint?.framesDropped ?? 0);
  counter(
    "corral_frames_rejected_total",
    "Received frames dropped by the actor system (malformed, foreign, spoofed, invalid body)",
    (s) => s.actors.framesMalformed + s.actors.framesForeign + s.actors.framesSpoofed + s.actors.framesInvalidBody + s.actors.framesTooLarge,
  );
  counter("corral_peer_frames_sealed_total", "Frames this node sealed (MAC) for other members", (s) => s.peerAuth.framesSealed);
  counter("corral_peer_frames_verified_total", "Sealed frames from members that passed authentication", (s) => s.peerAuth.framesVerified);
  counter("corral_raft_messages_out_of_bounds_total", "Raft messages dropped for a term, index or size beyond its bound", (s) => s.counters.raftOutOfBounds);
  gauge("corral_peer_incarnation_epoch", "This process's incarnation epoch (sealed into every peer frame)", (s) => s.peerAuth.epoch);
  const peerRejections: readonly (readonly [string, (s: NodeStatus) => number])[] = [
    ["bad_mac", (s) => s.peerAuth.rejectedBadMac],
    ["unknown_key_id", (s) => s.peerAuth.rejectedUnknownKeyId],
    ["non_member", (s) => s.peerAuth.rejectedNonMember],
    ["replay", (s) => s.peerAuth.rejectedReplay],
    ["stale_epoch", (s) => s.peerAuth.rejectedStaleEpoch],
    ["malformed", (s) => s.peerAuth.rejectedMalformed],
    ["unauthenticated_actor_frame", (s) => s.actors.framesUnauthenticated],
    ["unauthenticated_from_member", (s) => s.peerAuth.rejectedUnauthenticatedFromMember],
  ];
  new Counter({
    name: "corral_peer_frames_rejected_total",
    help: "Frames refused by peer authentication, by reason (docs/security.md)",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      const status = current();
      for (const [reason, value] of peerRejections) this.inc({ reason }, value(status));
    },
  });
  new Counter({
    name: "corral_requests_total",
    help: "Client requests by op",
    labelNames: ["op"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [op, count] of Object.entries(current().counters.requests)) this.inc({ op }, count);
    },
  });
  const latency = new Histogram({
    name: "corral_request_duration_seconds",
    help: "Time from a request's arrival at this node to its response, by op",
    labelNames: ["op"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  node.onRequestDone((op, durationMs) => latency.observe({ op }, durationMs / 1000));
  const originalMetrics = registry.metrics.bind(registry);
  registry.metrics = async () => {
    snapshot = undefined;
    return originalMetrics();
  };
  return registry;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { node, logger } = options;
  const host = options.host ?? "127.0.0.1";
  const limits: AdminHttpLimits = { ...defaultAdminHttpLimits, ...options.limits };
  if (options.token !== undefined && options.token.length < MIN_TOKEN_LENGTH) throw new AdminServerFailed(`the admin token must be at least ${MIN_TOKEN_LENGTH} characters`);
  if (!isLoopbackHost(host) && options.token === undefined) {
    throw new AdminServerFailed(`refusing to serve admin HTTP on ${host} (not loopback) without a bearer token: give --admin-token-file FILE, or bind 127.0.0.1`);
  }
  const tokenDigest = options.token === undefined ? undefined : createHash("sha256").update(options.token, "utf8").digest();
  const registry = nodeMetrics(node);
  const server: Server = createServer({ maxHeaderSize: limits.maxHeaderBytes }, (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const reply = (status: number, contentType: string, body: string, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { "content-type": contentType, "cache-control": "no-store", ...headers });
      response.end(body);
    };
    if (tokenDigest !== undefined && !authorized(request, tokenDigest)) {
      reply(401, "text/plain", "unauthorized: send Authorization: Bearer <token>\n", { "www-authenticate": "Bearer" });
      return;
    }
    if (request.method !== "GET") {
      reply(405, "text/plain", "method not allowed\n");
      return;
    }
    try {
      if (path === "/health") {
        const status = node.status();
        const healthy = status.role !== "stopped" && status.leader !== null;
        reply(healthy ? 200 : 503, "application/json", JSON.stringify({ ok: healthy, role: status.role, leader: status.leader }));
      } else if (path === "/status") {
        reply(200, "application/json", JSON.stringify(node.status()));
      } else if (path === "/metrics") {
        registry.metrics().then(
          (text) => reply(200, registry.contentType, text),
          (error: unknown) => {
            logger.error({ error: String(error) }, "metrics collection failed");
            reply(500, "text/plain", "metrics failed\n");
          },
        );
      } else {
        reply(404, "text/plain", "not found: try /health, /status, /metrics\n");
      }
    } catch (error) {
      logger.error({ error: String(error) }, "admin request failed");
      reply(500, "text/plain", "internal error\n");
    }
  });
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new AdminServerFailed(`admin HTTP could not listen on ${host}:${options.port}: ${error.message}`, { cause: error })));
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  logger.info({ url, token: tokenDigest !== undefined }, "admin HTTP listening");
  return {
    url,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
