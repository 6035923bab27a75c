/** `corral node`: run one node process (the server's runNode) with config from flags, env and a file. */
import { parseArgs } from "node:util";
import { AdminTokenFileUnusable, ClusterKeyFileUnusable, ClusterKeyRequired, InvalidNodeConfig, runNode } from "@corral/server";
import { ConfigError, ExitCode, UsageError } from "../errors.js";
import { resolveNodeCommandConfig } from "../node-config.js";
import type { CliIo } from "../cli-io.js";

export const NODE_USAGE = `usage: corral node --id ID --peers ID,ID,... --redis URL --cluster-key-file FILE [--cluster NAME] [--data DIR]
                   [--admin-port PORT] [--admin-host HOST] [--log-level LEVEL] [--config FILE]

  --id ID           this node's id (CORRAL_ID)
  --peers IDS       every voter's id, this one included (CORRAL_PEERS), e.g. n1,n2,n3
  --cluster NAME    cluster name; nodes and clients of one ensemble share it (CORRAL_CLUSTER, default corral)
  --redis URL       the Redis carrying the network (CORRAL_REDIS), e.g. redis://127.0.0.1:6379
  --cluster-key-file FILE
                    the peers' shared key file, keyId:base64key lines, first one signs (CORRAL_CLUSTER_KEY_FILE);
                    required (make one with \`corral keygen --out FILE\`); SIGHUP re-reads it
  --data DIR        WAL and snapshots (CORRAL_DATA, default .corral/<id>)
  --admin-port PORT admin HTTP port: /health /status /metrics (CORRAL_ADMIN_PORT, default 0 = any free port)
  --admin-host HOST admin HTTP address (CORRAL_ADMIN_HOST, default 127.0.0.1)
  --admin-token-file FILE
                    bearer token for admin HTTP, first line of FILE (CORRAL_ADMIN_TOKEN_FILE); every request then
                    needs "Authorization: Bearer <token>"; required when --admin-host is not loopback
  --log-level LEVEL trace|debug|info|warn|error|fatal|silent (CORRAL_LOG_LEVEL, default info)
  --fsync POLICY    always|none: fsync the WAL per batch, or never (CORRAL_FSYNC, default always)
  --test-mode       honour fault commands from Redis, and allow no key file: multi-process tests only (CORRAL_TEST_MODE)
  --config FILE     JSON file with any of the above (keys: id, peers, cluster, redis, clusterKeyFile, data, adminPort,
                    adminHost, adminTokenFile, logLevel, fsync, testMode) and tuning fields (tickMs, electionTicks, ...)
                    (CORRAL_CONFIG)

Flags win over env vars, env vars over the file. SIGTERM stops the node gracefully.`;

export function parseNodeArgs(args: readonly string[]): { flags: Record<string, string | undefined>; help: boolean; stopOnStdinClose: boolean } {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        id: { type: "string" },
        peers: { type: "string" },
        cluster: { type: "string" },
        redis: { type: "string" },
        "cluster-key-file": { type: "string" },
        data: { type: "string" },
        "admin-port": { type: "string" },
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
    throw error;
  }
  const code = await running.exited;
  return code === 0 ? ExitCode.Ok : ExitCode.Failure;
}
