/** `corral node`: run one node process (the server's runNode) with config from flags, env and a file. */
import { parseArgs } from "node:util";
import { RedisAuthFailed, RedisCredentialsUnusable } from "@corral/actors";
import { AdminTokenFileUnusable, ClientPortFailed, ClusterKeyFileUnusable, ClusterKeyRequired, InvalidNodeConfig, runNode } from "@corral/server";
import { ConfigError, ExitCode, UsageError } from "../errors.js";
import { resolveNodeCommandConfig } from "../node-config.js";
import type { CliIo } from "../cli-io.js";

export const NODE_USAGE = `usage: corral node --id ID --peers ID,ID,... --redis URL --cluster-key-file FILE [--cluster NAME] [--data DIR]
                   [--admin-port PORT] [--admin-host HOST] [--client-port PORT] [--client-host HOST]
                   [--log-level LEVEL] [--config FILE]

  --id ID           this node's id (CORRAL_ID)
  --peers IDS       every voter's id, this one included (CORRAL_PEERS), e.g. n1,n2,n3
  --cluster NAME    cluster name; nodes and clients of one ensemble share it (CORRAL_CLUSTER, default corral)
  --redis URL       the Redis carrying the network (CORRAL_REDIS), e.g. redis://127.0.0.1:6379 or rediss://host:6380;
                    never with a password in it (refused): use --redis-password-file
  --redis-user NAME Redis ACL user (CORRAL_REDIS_USER); needs --redis-password-file
  --redis-password-file FILE
                    Redis password, first line of FILE (CORRAL_REDIS_PASSWORD_FILE); mode 0600
  --redis-tls-ca FILE       PEM CA certificate(s) for a rediss:// URL (CORRAL_REDIS_TLS_CA)
  --redis-tls-cert FILE     PEM client certificate for mutual TLS, with --redis-tls-key (CORRAL_REDIS_TLS_CERT)
  --redis-tls-key FILE      PEM key of the client certificate (CORRAL_REDIS_TLS_KEY)
  --redis-tls-servername NAME
                    name the server's certificate must carry, if not the URL's host (CORRAL_REDIS_TLS_SERVERNAME)
  --cluster-key-file FILE
                    the peers' shared key file, keyId:base64key lines, first one signs (CORRAL_CLUSTER_KEY_FILE);
                    required (make one with \`corral keygen --out FILE\`); SIGHUP re-reads it
  --data DIR        WAL and snapshots (CORRAL_DATA, default .corral/<id>)
  --admin-port PORT admin HTTP port: /health /status /metrics (CORRAL_ADMIN_PORT, default 0 = any free port)
  --admin-host HOST admin HTTP address (CORRAL_ADMIN_HOST, default 127.0.0.1)
  --admin-token-file FILE
                    bearer token for admin HTTP, first line of FILE (CORRAL_ADMIN_TOKEN_FILE); every request then
                    needs "Authorization: Bearer <token>"; required when --admin-host is not loopback
  --client-port PORT
                    ZooKeeper wire-protocol client port: kazoo, Curator, zkCli ... connect here
                    (CORRAL_CLIENT_PORT; default 2181 for a single-node ensemble, else 0 = any free port, logged)
  --client-host HOST
                    client port address (CORRAL_CLIENT_HOST, default 127.0.0.1; no TLS yet: keep it private)
  --log-level LEVEL trace|debug|info|warn|error|fatal|silent (CORRAL_LOG_LEVEL, default info)
  --fsync POLICY    always|none: fsync the WAL per batch, or never (CORRAL_FSYNC, default always)
  --test-mode       honour fault commands from Redis, and allow no key file: multi-process tests only (CORRAL_TEST_MODE)
  --config FILE     JSON file with any of the above (keys: id, peers, cluster, redis, redisUser, redisPasswordFile,
                    redisTlsCa, redisTlsCert, redisTlsKey, redisTlsServername, clusterKeyFile, data, adminPort,
                    adminHost, adminTokenFile, clientPort, clientHost, logLevel, fsync, testMode) and tuning fields (tickMs, electionTicks, ...)
                    (CORRAL_CONFIG)

Flags win over env vars, env vars over the file. SIGTERM stops the node gracefully.`;

/** The flag behind each Redis credential setting, for error messages. */
const REDIS_FLAGS: Record<RedisCredentialsUnusable["field"], string> = {
  redisUrl: "--redis",
  user: "--redis-user",
  passwordFile: "--redis-password-file",
  tlsCaFile: "--redis-tls-ca",
  tlsCertFile: "--redis-tls-cert",
  tlsKeyFile: "--redis-tls-key",
  tlsServername: "--redis-tls-servername",
};

export function parseNodeArgs(args: readonly string[]): { flags: Record<string, string | undefined>; help: boolean; stopOnStdinClose: boolean } {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        id: { type: "string" },
        peers: { type: "string" },
        cluster: { type: "string" },
        redis: { type: "string" },
        "redis-user": { type: "string" },
        "redis-password-file": { type: "string" },
        "redis-tls-ca": { type: "string" },
        "redis-tls-cert": { type: "string" },
        "redis-tls-key": { type: "string" },
        "redis-tls-servername": { type: "string" },
        "cluster-key-file": { type: "string" },
        data: { type: "string" },
        "admin-port": { type: "string" },
        "client-port": { type: "string" },
        "client-host": { type: "string" },
        "admin-host": { type: "string" },
        "admin-token-file": { type: "string" },
        "log-level": { type: "string" },
        fsync: { type: "string" },
        "test-mode": { type: "boolean" },
        config: { type: "string" },
        // Used by `corral up`: stop when the parent's pipe closes, so a killed `up` leaves no node behind.
        "stop-on-stdin-close": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    const { help, "stop-on-stdin-close": stopOnStdinClose, "test-mode": testMode, ...rest } = values;
    const flags: Record<string, string | undefined> = { ...rest, "test-mode": testMode === true ? "true" : undefined };
    return { flags, help: help === true, stopOnStdinClose: stopOnStdinClose === true };
  } catch (error) {
    throw new UsageError((error as Error).message, "node", { cause: error });
  }
}

export async function nodeCommand(args: readonly string[], io: CliIo): Promise<ExitCode> {
  const { flags, help, stopOnStdinClose } = parseNodeArgs(args);
  if (help) {
    io.stdout.write(`${NODE_USAGE}\n`);
    return ExitCode.Ok;
  }
  const config = resolveNodeCommandConfig(flags, io.env);
  if (stopOnStdinClose) {
    // A closed pipe means the launcher is gone: take the node's own graceful SIGTERM path.
    io.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
    io.stdin.on("error", () => process.kill(process.pid, "SIGTERM"));
    io.stdin.resume();
  }
  let running: Awaited<ReturnType<typeof runNode>>;
  try {
    running = await runNode(config, { handleSignals: true });
  } catch (error) {
    // The server's own validation names the field; report it as a configuration error.
    if (error instanceof InvalidNodeConfig) throw new ConfigError(error.field, error.reason, { cause: error });
    if (error instanceof AdminTokenFileUnusable) throw new ConfigError("--admin-token-file", error.message, { cause: error });
    if (error instanceof ClusterKeyRequired) throw new ConfigError("--cluster-key-file", error.message, { cause: error });
    if (error instanceof ClusterKeyFileUnusable) throw new ConfigError("--cluster-key-file", error.message, { cause: error });
    if (error instanceof RedisCredentialsUnusable) throw new ConfigError(REDIS_FLAGS[error.field], error.message, { cause: error });
    if (error instanceof ClientPortFailed) throw new ConfigError("--client-port", error.message, { cause: error });
    if (error instanceof RedisAuthFailed) throw new ConfigError(error.kind === "auth" ? "--redis-password-file" : "--redis-tls-ca", error.message, { cause: error });
    throw error;
  }
  const code = await running.exited;
  return code === 0 ? ExitCode.Ok : ExitCode.Failure;
}
