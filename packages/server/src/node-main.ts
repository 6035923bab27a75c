/**
 * `corral node`: one live node process. LiveClock, Redis Streams network,
 * FileDurableLog in the data dir, admin HTTP on loopback. The CLI parses
 * flags / env / file into a plain object and calls `runNode`; validation here
 * names the offending field. SIGTERM/SIGINT = graceful: stop accepting
 * clients, hand leadership over, flush the log, exit 0.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import {
  FaultyNetwork,
  LiveClock,
  simulationKeyring,
  RedisFaultControl,
  RedisStreamsNetwork,
  checkRedisCredentials,
  loadRedisAuth,
  redactRedisUrl,
  type RedisAuthFiles,
  SeededRandom,
  createLogger,
  liveExecutor,
  type LogLevel,
  type Logger,
  type ClusterKeyring,
  type Network,
} from "@corral/actors";
import { FileDurableLog, type FsyncPolicy } from "@corral/consensus";
import { isLoopbackHost, loadAdminTokenFile, startAdminServer, type AdminServer } from "./admin-http.js";
import { resolveNodeConfig, type NodeConfig } from "./config.js";
import { loadClusterKeyFile } from "./cluster-key-file.js";
import { ClusterKeyRequired, InvalidNodeConfig } from "./errors.js";
import { nextIncarnation } from "./incarnation-file.js";
import { createNode, type CorralNode } from "./node.js";
import { startClientPort, type ClientPort } from "./client-port.js";
import { osEntropy } from "./secrets.js";

export interface RunNodeConfig {
  readonly nodeId: string;
  readonly peers: readonly string[];
  readonly clusterName: string;
  readonly redisUrl: string;
  /**
   * Redis credentials and TLS, as files (docs/security.md): user, password
   * file, CA / client certificate / key PEM files, server name. {} = none.
   */
  readonly redisAuth: RedisAuthFiles;
  /**
   * The cluster key file (keyId:base64key lines, the first signs; the same
   * file on every node). Required, except in test mode, where a key derived
   * from the cluster name is used when none is given (insecure: tests only).
   */
  readonly clusterKeyFile: string | null;
  /** This node's own directory: WAL segments, hard state, snapshots, the incarnation epoch. */
  readonly dataDir: string;
  /** Admin HTTP port (0 = any free port; null = no admin server). */
  readonly adminPort: number | null;
  readonly adminHost: string;
  /** File holding the admin HTTP bearer token; required when adminHost is not loopback. null: none. */
  readonly adminTokenFile: string | null;
  /** ZooKeeper-wire client port (0 = any free port; null = none). */
  readonly clientPort: number | null;
  /** Address the client port binds (default 127.0.0.1). */
  readonly clientHost: string;
  readonly fsync: FsyncPolicy;
  /** Honour fault commands from Redis (multi-process tests only; never in production). */
  readonly testMode: boolean;
  readonly logLevel: LogLevel;
  /** Timeouts and limits (see NodeConfig). */
  readonly tuning: Partial<Omit<NodeConfig, "nodeId" | "peers" | "clusterName">>;
}

export interface RunningNode {
  readonly node: CorralNode;
  readonly admin: AdminServer | undefined;
  /** The ZooKeeper-wire client port, when configured. */
  readonly clientPort: ClientPort | undefined;
  /** Graceful stop; resolves when everything is closed. */
  stop(): Promise<void>;
  /** Resolves with the process exit code once the node has stopped for any reason. */
  readonly exited: Promise<number>;
}

const LOG_LEVELS: readonly string[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];
const REDIS_AUTH_FIELDS: readonly string[] = ["user", "passwordFile", "tlsCaFile", "tlsCertFile", "tlsKeyFile", "tlsServername"] satisfies readonly (keyof RedisAuthFiles)[];

/** Validate a raw config object (from the CLI: flags, env, file). Throws InvalidNodeConfig naming the field. */
export function validateRunNodeConfig(input: unknown): RunNodeConfig {
  if (typeof input !== "object" || input === null) throw new InvalidNodeConfig("config", "expected an object");
  const raw = input as Record<string, unknown>;
  const string = (field: string, fallback?: string): string => {
    const value = raw[field] ?? fallback;
    if (typeof value !== "string" || value.length === 0) throw new InvalidNodeConfig(field, "required, a non-empty string");
    return value;
  };
  const peersRaw = raw["peers"];
  const peers = typeof peersRaw === "string" ? peersRaw.split(",").map((p) => p.trim()).filter((p) => p.length > 0) : peersRaw;
  if (!Array.isArray(peers) || !peers.every((p): p is string => typeof p === "string")) throw new InvalidNodeConfig("peers", "a list of node ids (or comma-separated string)");
  const redisUrl = string("redisUrl");
  if (!/^rediss?:\/\//.test(redisUrl)) throw new InvalidNodeConfig("redisUrl", `"${redisUrl}" is not a redis:// or rediss:// URL`);
  // null: no admin server (so not `?? 0`, which would turn it into "any free port").
  const adminPortRaw = raw["adminPort"] === undefined ? 0 : raw["adminPort"];
  if (adminPortRaw !== null && (typeof adminPortRaw !== "number" || !Number.isInteger(adminPortRaw) || adminPortRaw < 0 || adminPortRaw > 65535)) {
    throw new InvalidNodeConfig("adminPort", "an integer port 0-65535, or null to disable");
  }
  const redisAuthRaw = raw["redisAuth"] ?? {};
  if (typeof redisAuthRaw !== "object" || redisAuthRaw === null || Array.isArray(redisAuthRaw)) throw new InvalidNodeConfig("redisAuth", "expected an object");
  const redisAuth: Record<string, string> = {};
  for (const [key, value] of Object.entries(redisAuthRaw as Record<string, unknown>)) {
    if (!REDIS_AUTH_FIELDS.includes(key)) throw new InvalidNodeConfig(`redisAuth.${key}`, `unknown (known: ${REDIS_AUTH_FIELDS.join(", ")})`);
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || value.length === 0) throw new InvalidNodeConfig(`redisAuth.${key}`, "a non-empty string");
    redisAuth[key] = value;
  }
  const clusterKeyFile = raw["clusterKeyFile"] ?? null;
  if (clusterKeyFile !== null && (typeof clusterKeyFile !== "string" || clusterKeyFile.length === 0)) throw new InvalidNodeConfig("clusterKeyFile", "a file path");
  const adminTokenFile = raw["adminTokenFile"] ?? null;
  if (adminTokenFile !== null && (typeof adminTokenFile !== "string" || adminTokenFile.length === 0)) throw new InvalidNodeConfig("adminTokenFile", "a file path");
  const clientPortRaw = raw["clientPort"] ?? null;
  if (clientPortRaw !== null && (typeof clientPortRaw !== "number" || !Number.isInteger(clientPortRaw) || clientPortRaw < 0 || clientPortRaw > 65535)) {
    throw new InvalidNodeConfig("clientPort", "an integer port 0-65535, or null for no client port");
  }
  const fsync = raw["fsync"] ?? "always";
  if (fsync !== "always" && fsync !== "none") throw new InvalidNodeConfig("fsync", `"always" or "none", got ${JSON.stringify(fsync)}`);
  const logLevel = raw["logLevel"] ?? "info";
  if (typeof logLevel !== "string" || !LOG_LEVELS.includes(logLevel)) throw new InvalidNodeConfig("logLevel", `one of ${LOG_LEVELS.join(", ")}`);
  const tuning = raw["tuning"] ?? {};
  if (typeof tuning !== "object" || tuning === null) throw new InvalidNodeConfig("tuning", "expected an object");
  const config: RunNodeConfig = {
    nodeId: string("nodeId"),
    peers,
    clusterName: string("clusterName", "corral"),
    redisUrl,
    redisAuth: redisAuth as RedisAuthFiles,
    clusterKeyFile,
    dataDir: string("dataDir"),
    adminPort: adminPortRaw as number | null,
    adminHost: string("adminHost", "127.0.0.1"),
    adminTokenFile,
    clientPort: clientPortRaw as number | null,
    clientHost: string("clientHost", "127.0.0.1"),
    fsync,
    testMode: raw["testMode"] === true,
    logLevel: logLevel as LogLevel,
    tuning: tuning as RunNodeConfig["tuning"],
  };
  if (config.adminPort !== null && config.adminTokenFile === null && !isLoopbackHost(config.adminHost)) {
    throw new InvalidNodeConfig("adminTokenFile", `admin HTTP on ${config.adminHost} (not loopback) needs a bearer token file (--admin-token-file FILE)`);
  }
  // Validates ids, peers, timeouts and limits with the node's own rules.
  resolveNodeConfig({ ...config.tuning, nodeId: config.nodeId, peers: config.peers, clusterName: config.clusterName });
  return config;
}

/**
 * The Redis set nodes add their id to. Informational only: anyone who can
 * write to Redis can add to it, so no Corral client reads it (clients take
 * the node list from their configuration; docs/security.md).
 */
export const nodesKey = (cluster: string): string => `corral:{${cluster}}:nodes`;
/** node id -> admin URL, for `corral status`. */
export const adminKey = (cluster: string): string => `corral:${cluster}:admin`;

/** The admin token from its file, if one is configured (read before anything starts; a warning if others may read it). */
function adminToken(config: RunNodeConfig, logger: Logger): { token?: string } {
  if (config.adminTokenFile === null) return {};
  const loaded = loadAdminTokenFile(config.adminTokenFile);
  if (loaded.permissionWarning !== undefined) logger.warn({ file: config.adminTokenFile }, loaded.permissionWarning);
  return { token: loaded.token };
}

export async function runNode(input: unknown, options: { readonly handleSignals?: boolean; readonly logger?: Logger } = {}): Promise<RunningNode> {
  const config = validateRunNodeConfig(input);
  const logger = options.logger ?? createLogger({ level: config.logLevel, bindings: { node: config.nodeId, cluster: config.clusterName } });
  // Read before anything starts: a bad token file stops the node here, not half-way up.
  const adminAuth = config.adminPort === null ? {} : adminToken(config, logger);
  const clock = new LiveClock();
  const random = new SeededRandom(randomBytes(4).readUInt32LE(0));
  // Keys first: a node that cannot authenticate its peers must not start at all.
  let keyring: ClusterKeyring;
  if (config.clusterKeyFile !== null) {
    const loaded = loadClusterKeyFile(config.clusterKeyFile);
    if (loaded.permissionWarning !== undefined) logger.warn({ file: config.clusterKeyFile }, loaded.permissionWarning);
    keyring = loaded.keyring;
  } else if (config.testMode) {
    logger.warn({}, "TEST MODE without a cluster key file: peers authenticate with a key derived from the cluster name, which anyone can compute");
    keyring = simulationKeyring(`test-mode:${config.clusterName}`, "test");
  } else {
    throw new ClusterKeyRequired();
  }
  // Redis credentials from their files; a refused password or certificate stops the start here, clearly
  // (RedisAuthFailed), while a Redis that is only down is a network outage the node rides out.
  const redisAuth = loadRedisAuth(config.redisUrl, config.redisAuth);
  for (const warning of redisAuth.warnings) logger.warn({ file: config.redisAuth.passwordFile }, warning);
  const redisShown = redactRedisUrl(config.redisUrl);
  if ((await checkRedisCredentials(config.redisUrl, redisAuth.options)) === "unreachable") {
    logger.warn({ redis: redisShown }, "redis does not answer yet; starting anyway and retrying");
  }
  const redis = { redisUrl: config.redisUrl, redis: redisAuth.options };
  const epoch = nextIncarnation(config.dataDir, Math.floor(clock.wallNow() / 1000));
  const redisNetwork = new RedisStreamsNetwork({ cluster: config.clusterName, ...redis, logger });
  let network: Network = redisNetwork;
  let faultControl: RedisFaultControl | undefined;
  if (config.testMode) {
    logger.warn({}, "TEST MODE: fault commands from Redis are honoured; never run production like this");
    const faulty = new FaultyNetwork(redisNetwork, { clock, random: random.fork("faults"), logger });
    network = faulty;
    faultControl = await RedisFaultControl.start({ cluster: config.clusterName, ...redis, logger, onCommand: (command) => void faulty.apply(command) });
  }
  // With the logger, a storage failure logs its cause (ENOSPC, EIO ...) before the node stops.
  const durableLog = new FileDurableLog({ directory: config.dataDir, fsync: config.fsync, logger: logger.child({ component: "durable-log" }) });

  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  // A fatal error may come before `shutdown` exists (during start-up): remember it and act once it does.
  let onFatal = (): void => {
    fatalEarly = true;
  };
  let fatalEarly = false;
  const node = await createNode(
    { ...config.tuning, nodeId: config.nodeId, peers: config.peers, clusterName: config.clusterName },
    { clock, random, network, logger, executor: liveExecutor, durableLog, peerAuth: { keyring, epoch }, entropy: osEntropy, onFatal: () => onFatal() },
  );
  const admin = config.adminPort === null ? undefined : await startAdminServer({ node, port: config.adminPort, host: config.adminHost, logger, ...adminAuth });
  let clientPort: ClientPort | undefined;
  try {
    clientPort = config.clientPort === null ? undefined : await startClientPort({ node, port: config.clientPort, host: config.clientHost, logger, clock });
  } catch (error) {
    // A node its clients cannot reach must not run half-up: stop what started, then report (ClientPortFailed).
    await node.shutdown({ timeoutMs: 0 });
    await admin?.close();
    await faultControl?.close();
    await network.close();
    throw error;
  }

  // Discovery: best effort, never blocks the node (Redis down = network down).
  const registry = new Redis(config.redisUrl, { ...redisAuth.options, lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true });
  registry.on("error", () => undefined);
  const register = async (): Promise<void> => {
    try {
      await registry.sadd(nodesKey(config.clusterName), config.nodeId);
      if (admin !== undefined) await registry.hset(adminKey(config.clusterName), config.nodeId, admin.url);
    } catch (error) {
      logger.warn({ error: String(error) }, "could not register in Redis for discovery; will retry");
    }
  };
  await register();
  let registerTimer = clock.setTimer(30_000, function again() {
    void register();
    registerTimer = clock.setTimer(30_000, again);
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (code: number): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ code }, "stopping: handing over leadership and flushing");
      clock.clearTimer(registerTimer);
      await clientPort?.close();
      await node.shutdown({ timeoutMs: 2_000 });
      await admin?.close();
      await faultControl?.close();
      try {
        await registry.hdel(adminKey(config.clusterName), config.nodeId);
      } catch (_error) {
        // Discovery entries are hints; a stale one only costs a client a failed connect.
      }
      registry.disconnect();
      await network.close();
      resolveExit(code);
    })();
    return stopping;
  };

  onFatal = () => void shutdown(1);
  if (fatalEarly) void shutdown(1);

  if (options.handleSignals === true) {
    const onSignal = (signal: string): void => {
      logger.info({ signal }, "signal received");
      void shutdown(0);
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
    const keyFile = config.clusterKeyFile;
    if (keyFile !== null) {
      // Key rotation without a restart: edit the file on every node, then SIGHUP each.
      process.on("SIGHUP", () => {
        try {
          const loaded = loadClusterKeyFile(keyFile);
          node.setClusterKeys(loaded.keyring);
          logger.info({ file: keyFile, signing: loaded.keyring.signingKeyId, accepted: loaded.keyring.keyIds }, "cluster keys reloaded");
        } catch (error) {
          logger.error({ file: keyFile, error: error instanceof Error ? error.message : String(error) }, "cluster keys not reloaded; keeping the current ones");
        }
      });
    }
  }
  logger.info({ peers: config.peers, redis: redisShown, redisUser: config.redisAuth.user, redisTls: redisAuth.options.tls !== undefined, dataDir: config.dataDir, admin: admin?.url, clientPort: clientPort?.address, epoch, signingKeyId: keyring.signingKeyId }, "node started");
  return { node, admin, clientPort, stop: () => shutdown(0), exited };
}
