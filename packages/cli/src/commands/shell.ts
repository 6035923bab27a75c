/** `corral shell`: connect to an ensemble and run the interpreter, interactively or once (-c). */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { RedisAuthFiles } from "@corral/actors";
import type { Client } from "@corral/client";
import { readEnsembleFile } from "../ensemble-file.js";
import { ExitCode, UsageError } from "../errors.js";
import { connectClient } from "../late-bound.js";
import { clientRedisOptions, redisAuthFromFlags, type RedisAuthFlag } from "../redis-local.js";
import { ShellInterpreter, type ShellIo, type ShellOptions } from "../shell/interpreter.js";
import { InteractiveIo, runRepl } from "../shell/repl.js";
import { ensembleStatus, formatStatusTable } from "../status.js";
import type { CliIo } from "../cli-io.js";

export const SHELL_USAGE = `usage: corral shell [--data DIR | --redis URL --cluster NAME --nodes IDS] [-c "command"]

  --data DIR        the ensemble recorded by \`corral up --data DIR\` (default .corral)
  --redis URL       connect to this Redis instead (with --cluster; no \`status\` table)
  --cluster NAME    cluster name with --redis (default corral)
  --nodes IDS       the ensemble's node ids, required with --redis (CORRAL_NODES; never discovered through Redis)
  --redis-user NAME, --redis-password-file FILE, --redis-tls-ca FILE, --redis-tls-cert FILE, --redis-tls-key FILE,
  --redis-tls-servername NAME   credentials and TLS for --redis (as \`corral node\`; CORRAL_REDIS_PASSWORD_FILE ...);
                    with --data they come from ensemble.json
  -c, --command CMD run one command, print its result, exit 0 on success, 1 on error, 2 on bad usage
  --session-timeout-ms MS   requested session timeout (default 10000)`;

export interface ShellTarget {
  /**
   * The nodes' client ports, when known (from ensemble.json): the shell then
   * talks ZooKeeper's wire protocol over TCP and never touches Redis.
   */
  readonly servers?: readonly string[];
  readonly redisUrl: string;
  /** User and credential/TLS file paths for that Redis (none: no AUTH, no client certificate). */
  readonly redisAuth?: RedisAuthFiles;
  readonly cluster: string;
  readonly nodes: readonly string[];
  readonly admin?: readonly { readonly id: string; readonly adminUrl: string }[];
  readonly dataDir?: string;
}

export function resolveShellTarget(
  values: { data?: string | undefined; redis?: string | undefined; cluster?: string | undefined; nodes?: string | undefined } & Partial<Record<RedisAuthFlag, string | undefined>>,
  env: NodeJS.ProcessEnv,
): ShellTarget {
  const redis = values.redis ?? env["CORRAL_REDIS"];
  const nodes = (values.nodes ?? env["CORRAL_NODES"])?.split(",").map((id) => id.trim()).filter((id) => id !== "");
  if (redis !== undefined && redis !== "") {
    // Anyone who can write to Redis could list a node of their own: the node list comes from the user.
    if (nodes === undefined || nodes.length === 0) throw new UsageError("--redis needs --nodes ID,ID,... (or CORRAL_NODES): node ids are not discovered through Redis", "shell");
    const redisAuth = redisAuthFromFlags(values, env);
    return { redisUrl: redis, redisAuth, cluster: values.cluster ?? env["CORRAL_CLUSTER"] ?? "corral", nodes };
  }
  if (values.cluster !== undefined) throw new UsageError("--cluster needs --redis (with --data the cluster comes from ensemble.json)", "shell");
  const dataDir = values.data ?? env["CORRAL_DATA"] ?? ".corral";
  const record = readEnsembleFile(dataDir);
  const addresses = record.nodes.map((node) => node.clientAddress);
  const servers = nodes === undefined && addresses.every((address): address is string => address !== undefined) && addresses.length > 0 ? { servers: addresses } : {};
  return { ...servers, redisUrl: record.redisUrl, ...(record.redisAuth === undefined ? {} : { redisAuth: record.redisAuth }), cluster: record.cluster, nodes: nodes ?? record.nodes.map((node) => node.id), admin: record.nodes, dataDir };
}

/** The `status` command's table, when admin URLs are known. */
export function statusProvider(admin: ShellTarget["admin"]): ShellOptions["status"] {
  if (admin === undefined) return undefined;
  return async () => {
    const status = await ensembleStatus(admin);
    return { lines: formatStatusTable(status), healthy: status.healthy };
  };
}

/** Run one command on a connected client; the exit code for `-c`. */
export async function runOneCommand(client: Client, io: ShellIo, command: string, status?: ShellOptions["status"]): Promise<ExitCode> {
  const interpreter = new ShellInterpreter({ client, io, ...(status === undefined ? {} : { status }) });
  const outcome = await interpreter.execute(command);
  if (outcome.ok) return ExitCode.Ok;
  return outcome.error === "Usage" || outcome.error === "Syntax" || outcome.error === "UnknownCommand" ? ExitCode.Usage : ExitCode.Failure;
}

/** The interactive shell on an open client (also used by `corral up`). Resolves when the user quits. */
export async function interactiveShell(client: Client, target: ShellTarget, io: CliIo, banner: readonly string[] = []): Promise<void> {
  const shellIo = new InteractiveIo(io.stdout, io.stderr);
  const status = statusProvider(target.admin);
  const interpreter = new ShellInterpreter({ client, io: shellIo, ...(status === undefined ? {} : { status }) });
  const unsubscribe = client.on("state", (change) => {
    shellIo.err(`[connection ${change.state}${change.nodeId === undefined ? "" : ` to ${change.nodeId}`}]`);
  });
  for (const line of banner) io.stdout.write(`${line}\n`);
  io.stdout.write(`connected to cluster ${target.cluster} (session ${client.sessionId === null ? "none" : `0x${client.sessionId.toString(16)}`}); type help, or quit to leave\n`);
  try {
    await runRepl({
      interpreter,
      io: shellIo,
      input: io.stdin,
      output: io.stdout,
      prompt: `[corral ${target.cluster}] `,
      ...(target.dataDir === undefined ? {} : { historyFile: join(target.dataDir, "shell_history") }),
    });
  } finally {
    unsubscribe();
    await interpreter.close();
  }
}

export async function shellCommand(args: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        data: { type: "string" },
        redis: { type: "string" },
        cluster: { type: "string" },
        nodes: { type: "string" },
        "redis-user": { type: "string" },
        "redis-password-file": { type: "string" },
        "redis-tls-ca": { type: "string" },
        "redis-tls-cert": { type: "string" },
        "redis-tls-key": { type: "string" },
        "redis-tls-servername": { type: "string" },
        command: { type: "string", short: "c" },
        "session-timeout-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, "shell", { cause: error });
  }
  if (values.help === true) {
    io.stdout.write(`${SHELL_USAGE}\n`);
    return ExitCode.Ok;
  }
  const sessionTimeoutText = values["session-timeout-ms"];
  const sessionTimeoutMs = sessionTimeoutText === undefined ? undefined : Number(sessionTimeoutText);
  if (sessionTimeoutMs !== undefined && (!Number.isSafeInteger(sessionTimeoutMs) || sessionTimeoutMs <= 0)) {
    throw new UsageError(`--session-timeout-ms expects a positive integer, got "${sessionTimeoutText}"`, "shell");
  }
  const target = resolveShellTarget(values, io.env);
  const client = await connectClient(
    target.servers !== undefined
      ? { servers: target.servers, ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }) }
      : {
          cluster: target.cluster,
          redis: clientRedisOptions(target.redisUrl, target.redisAuth),
          nodes: target.nodes,
          ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
        },
  );
  try {
    if (values.command !== undefined) {
      const lineIo: ShellIo = { out: (line) => io.stdout.write(`${line}\n`), err: (line) => io.stderr.write(`${line}\n`) };
      return await runOneCommand(client, lineIo, values.command, statusProvider(target.admin));
    }
    await interactiveShell(client, target, io);
    return ExitCode.Ok;
  } finally {
    await client.close().catch(() => undefined);
  }
}
