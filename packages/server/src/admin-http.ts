/**
 * Admin HTTP for a live node (loopback by default): /health, /status (JSON),
 * /metrics (Prometheus text, prom-client). Read-only: nothing here changes
 * the node, so exposing it cannot harm the ensemble beyond information.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@corral/actors";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { CorralNode, NodeStatus } from "./node.js";

export interface AdminServerOptions {
  readonly node: CorralNode;
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly logger: Logger;
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
  const registry = nodeMetrics(node);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const reply = (status: number, contentType: string, body: string): void => {
      response.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
      response.end(body);
    };
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
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new AdminServerFailed(`admin HTTP could not listen on ${host}:${options.port}: ${error.message}`, { cause: error })));
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host}:${address.port}`;
  logger.info({ url }, "admin HTTP listening");
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
