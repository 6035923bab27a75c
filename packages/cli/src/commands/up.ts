/**
 * `corral up`: a local ensemble of N `corral node` processes on a Redis (given,
 * or a redis-server it starts), recorded in <data>/ensemble.json, then the
 * shell (or a live status line with --no-shell). Ctrl-C, SIGTERM or leaving
 * the shell stops everything: SIGTERM the nodes, wait (bounded), SIGKILL
 * stragglers, stop Redis, remove ensemble.json. Node state persists in
 * <data>/<id>/ across runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { RedisAuthFailed, RedisCredentialsUnusable, checkRedisCredentials, loadRedisAuth, redactRedisUrl, type RedisAuthFiles } from "@corral/actors";
import { processAlive, readEnsembleFile, removeEnsembleFile, writeEnsembleFile, type EnsembleRecord } from "../ensemble-file.js";
import { ConfigError, ExitCode, NoLeader, NoRedisAvailable, StartFailed, UsageError, isCliError } from "../errors.js";
import { ensureClusterKeyFile } from "../cluster-key.js";
import { connectClient } from "../late-bound.js";
import { findRedisServer, freePort, redisAuthFromFlags, startLocalRedis, type LocalRedis } from "../redis-local.js";
import { ensembleStatus, formatStatusTable, type EnsembleStatus } from "../status.js";
import { interactiveShell } from "./shell.js";
import type { CliIo } from "../cli-io.js";

export const UP_USAGE = `usage: corral up [--nodes N] [--redis URL] [--data DIR] [--cluster NAME] [--no-shell] [--in-memory]

  --nodes N            node processes (1-7, default 3)
  --redis URL          use this Redis (default: start redis-server on a free port, with a random password in
                       <DIR>/redis.password and an ACL user limited to the cluster's keys); no password in the URL
  --redis-user NAME, --redis-password-file FILE, --redis-tls-ca FILE, --redis-tls-cert FILE,
  --redis-tls-key FILE, --redis-tls-servername NAME
                       credentials and TLS for --redis, handed to every node (as \`corral node\`; also
                       CORRAL_REDIS_USER, CORRAL_REDIS_PASSWORD_FILE, CORRAL_REDIS_TLS_CA ...)
  --data DIR           node state (<DIR>/<id>/), logs (<DIR>/logs/) and ensemble.json (default .corral)
  --cluster NAME       cluster name (default local)
  --no-shell           do not open the shell; show a live status line until Ctrl-C / SIGTERM
  --in-memory          an in-process ensemble on the in-memory network (no Redis, nothing on disk)
  --leader-timeout-ms  how long to wait for a leader (default 30000)
  --log-level LEVEL    the nodes' log level (default info; logs go to <DIR>/logs/<id>.log)`;

export interface UpFlags {
  readonly nodes: number;
  readonly redis: string | undefined;
  /** Credentials and TLS files for --redis (paths; the password stays in its file). */
  readonly redisAuth: RedisAuthFiles;
  readonly dataDir: string;
  readonly cluster: string;
  readonly shell: boolean;
  readonly inMemory: boolean;
  readonly leaderTimeoutMs: number;
  readonly logLevel: string;
}

function redisUrlCarriesPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return false;
  }
}

/** The node flags for a Redis's credentials and TLS files (paths only). */
export function redisAuthArgs(auth: RedisAuthFiles): string[] {
  const args: string[] = [];
  if (auth.user !== undefined) args.push("--redis-user", auth.user);
  if (auth.passwordFile !== undefined) args.push("--redis-password-file", auth.passwordFile);
  if (auth.tlsCaFile !== undefined) args.push("--redis-tls-ca", auth.tlsCaFile);
  if (auth.tlsCertFile !== undefined) args.push("--redis-tls-cert", auth.tlsCertFile);
  if (auth.tlsKeyFile !== undefined) args.push("--redis-tls-key", auth.tlsKeyFile);
  if (auth.tlsServername !== undefined) args.push("--redis-tls-servername", auth.tlsServername);
  return args;
}

export function parseUpArgs(args: readonly string[], env: NodeJS.ProcessEnv): UpFlags | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        nodes: { type: "string" },
        redis: { type: "string" },
        "redis-user": { type: "string" },
        "redis-password-file": { type: "string" },
        "redis-tls-ca": { type: "string" },
        "redis-tls-cert": { type: "string" },
        "redis-tls-key": { type: "string" },
        "redis-tls-servername": { type: "string" },
        data: { type: "string" },
        cluster: { type: "string" },
        "no-shell": { type: "boolean" },
        "in-memory": { type: "boolean" },
        "leader-timeout-ms": { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, "up", { cause: error });
  }
  if (values.help === true) return "help";
  const nodes = values.nodes === undefined ? 3 : Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 7) throw new UsageError(`--nodes expects 1-7, got "${values.nodes}"`, "up");
  const leaderTimeoutMs = values["leader-timeout-ms"] === undefined ? 30_000 : Number(values["leader-timeout-ms"]);
  if (!Number.isSafeInteger(leaderTimeoutMs) || leaderTimeoutMs <= 0) throw new UsageError("--leader-timeout-ms expects a positive integer", "up");
  const cluster = values.cluster ?? env["CORRAL_CLUSTER"] ?? "local";
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(cluster)) throw new UsageError(`--cluster: "${cluster}" must be 1-64 characters of [A-Za-z0-9_.-]`, "up");
  const redis = values.redis ?? env["CORRAL_REDIS"];
  if (redis !== undefined && !/^rediss?:\/\/[^/]/.test(redis)) throw new UsageError(`--redis: "${redis}" is not a redis://host:port URL`, "up");
  if (values["in-memory"] === true && redis !== undefined) throw new UsageError("--in-memory and --redis exclude each other", "up");
  if (redis !== undefined && redis !== "" && redisUrlCarriesPassword(redis)) {
    throw new UsageError("--redis: the URL carries a password; put it in a file and give --redis-password-file FILE (it would be on every node's command line)", "up");
  }
  const redisAuth = redisAuthFromFlags(values, env, (file) => resolve(file));
  if (Object.keys(redisAuth).length > 0 && (redis === undefined || redis === "")) throw new UsageError("--redis-user, --redis-password-file and --redis-tls-* apply to a Redis given with --redis", "up");
  return {
    nodes,
    redis: redis === "" ? undefined : redis,
    redisAuth: redisAuth as RedisAuthFiles,
    dataDir: values.data ?? env["CORRAL_DATA"] ?? ".corral",
    cluster,
    shell: values["no-shell"] !== true,
    inMemory: values["in-memory"] === true,
    leaderTimeoutMs,
    logLevel: values["log-level"] ?? "info",
  };
}

interface RunningNode {
  readonly id: string;
  readonly adminUrl: string;
  /** The node's ZooKeeper-wire client port, 127.0.0.1:port. */
  readonly clientAddress: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<void>;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function spawnNode(id: string, peers: readonly string[], flags: UpFlags, redis: AcquiredRedis, adminPort: number, clientPort: number, mainScript: string): RunningNode {
  const dataDir = resolve(flags.dataDir);
  mkdirSync(join(dataDir, id), { recursive: true, mode: 0o700 });
  mkdirSync(join(dataDir, "logs"), { recursive: true, mode: 0o700 });
  const logFile = join(dataDir, "logs", `${id}.log`);
  const logFd = openSync(logFile, "a", 0o600);
  // One key for the ensemble, made on first use and kept with its state.
  const clusterKeyFile = ensureClusterKeyFile(dataDir);
  const args = [
    ...process.execArgv,
    mainScript,
    "node",
    "--id", id,
    "--peers", peers.join(","),
    "--cluster", flags.cluster,
    "--redis", redis.url,
    ...redisAuthArgs(redis.auth),
    "--cluster-key-file", clusterKeyFile,
    "--data", join(dataDir, id),
    "--admin-port", String(adminPort),
    "--admin-host", "127.0.0.1",
    "--client-port", String(clientPort),
    "--client-host", "127.0.0.1",
    "--log-level", flags.logLevel,
    "--stop-on-stdin-close",
  ];
  // Own process group: a terminal Ctrl-C reaches only `up`, which stops the nodes in order.
  const child = spawn(process.execPath, args, { stdio: ["pipe", logFd, logFd], detached: true, env: { ...process.env, CORRAL_CONFIG: "" } });
  closeSync(logFd);
  child.stdin?.on("error", () => undefined);
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) resolveExit();
    child.once("exit", () => resolveExit());
    child.once("error", () => resolveExit());
  });
  return { id, adminUrl: `http://127.0.0.1:${adminPort}`, clientAddress: `127.0.0.1:${clientPort}`, child, logFile, exited };
}

function running(node: RunningNode): boolean {
  return node.child.exitCode === null && node.child.signalCode === null;
}

/** SIGTERM every node, wait up to `timeoutMs`, SIGKILL the rest. */
export async function stopNodes(nodes: readonly RunningNode[], timeoutMs: number): Promise<void> {
  for (const node of nodes) if (running(node)) node.child.kill("SIGTERM");
  const deadline = new Promise<void>((resolveTimeout) => setTimeout(resolveTimeout, timeoutMs).unref());
  await Promise.race([Promise.all(nodes.map((node) => node.exited)), deadline]);
  for (const node of nodes) if (running(node)) node.child.kill("SIGKILL");
  await Promise.all(nodes.map((node) => node.exited));
  for (const node of nodes) node.child.stdin?.destroy();
}

async function waitForLeader(nodes: readonly RunningNode[], timeoutMs: number): Promise<EnsembleStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = nodes.find((node) => !running(node));
    if (dead !== undefined) throw new StartFailed(`node ${dead.id}`, `exited (${dead.child.exitCode ?? dead.child.signalCode}); last lines of ${dead.logFile}:\n${tail(dead.logFile)}`);
    const status = await ensembleStatus(nodes, 1_000);
    if (status.healthy) return status;
    if (Date.now() >= deadline) throw new NoLeader(timeoutMs);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
  }
}

interface AcquiredRedis {
  readonly url: string;
  /** User and files every node and client of this ensemble authenticates with. */
  readonly auth: RedisAuthFiles;
  readonly local: LocalRedis | undefined;
}

async function acquireRedis(flags: UpFlags, io: CliIo): Promise<AcquiredRedis> {
  if (flags.redis !== undefined) {
    try {
      const loaded = loadRedisAuth(flags.redis, flags.redisAuth);
      for (const warning of loaded.warnings) io.stderr.write(`corral up: warning: ${warning}\n`);
      if ((await checkRedisCredentials(flags.redis, loaded.options)) !== "ok") throw new NoRedisAvailable(`${redactRedisUrl(flags.redis)} does not answer PING`);
    } catch (error) {
      if (error instanceof RedisCredentialsUnusable) throw new ConfigError(`--redis ${error.field}`, error.message, { cause: error });
      if (error instanceof RedisAuthFailed) throw new ConfigError("--redis", error.message, { cause: error });
      throw error;
    }
    return { url: flags.redis, auth: flags.redisAuth, local: undefined };
  }
  const binary = findRedisServer(io.env);
  if (binary === undefined) throw new NoRedisAvailable("no --redis given and no redis-server on PATH");
  const local = await startLocalRedis(binary, { dataDir: resolve(flags.dataDir), cluster: flags.cluster });
  return { url: local.url, auth: { user: local.user, passwordFile: local.passwordFile }, local };
}

/** A status line for --no-shell: one line, rewritten in place on a terminal. */
function statusLine(status: EnsembleStatus): string {
  const parts = status.rows.map((row) => `${row.id}:${row.status === null ? "down" : `${row.status.role}@${row.status.term} c${row.status.commitIndex}`}`);
  return `${status.healthy ? "healthy" : "UNHEALTHY"}  leader ${status.leader ?? "-"}  ${parts.join("  ")}`;
}

export async function upCommand(args: readonly string[], io: CliIo, mainScript = process.argv[1] ?? ""): Promise<ExitCode> {
  const flags = parseUpArgs(args, io.env);
  if (flags === "help") {
    io.stdout.write(`${UP_USAGE}\n`);
    return ExitCode.Ok;
  }
  if (flags.inMemory) {
    const { upInMemory } = await import("./up-in-memory.js");
    return upInMemory(flags, io);
  }
  const say = (line: string): void => void io.stdout.write(`${line}\n`);
  if (flags.shell && !stdinIsTerminal(io)) {
    // A script, a service manager or </dev/null: a shell would read end-of-file
    // and stop the ensemble at once. Keep it running as --no-shell does.
    say("corral up: standard input is not a terminal, so no shell: running as --no-shell (Ctrl-C or SIGTERM stops the ensemble)");
    return upCommandWith({ ...flags, shell: false }, io, mainScript, say);
  }
  return upCommandWith(flags, io, mainScript, say);
}

/** True when the shell could talk to a person: stdin is a TTY. */
export function stdinIsTerminal(io: CliIo): boolean {
  return (io.stdin as { isTTY?: boolean }).isTTY === true;
}

async function upCommandWith(flags: UpFlags, io: CliIo, mainScript: string, say: (line: string) => void): Promise<ExitCode> {
  // The data directory holds the ensemble record, node logs and data: the owner's only.
  mkdirSync(flags.dataDir, { recursive: true, mode: 0o700 });
  try {
    const previous = readEnsembleFile(flags.dataDir);
    if (processAlive(previous.upPid)) throw new UsageError(`an ensemble from ${flags.dataDir} is already running (corral up pid ${previous.upPid}); stop it or use another --data`, "up");
    removeEnsembleFile(flags.dataDir);
  } catch (error) {
    if (!isCliError(error) || (error._tag !== "EnsembleNotFound" && error._tag !== "EnsembleFileInvalid")) throw error;
    if (error._tag === "EnsembleFileInvalid") removeEnsembleFile(flags.dataDir);
  }

  let redis: AcquiredRedis;
  try {
    redis = await acquireRedis(flags, io);
  } catch (error) {
    if (isCliError(error) && error._tag === "NoRedisAvailable") {
      io.stderr.write(`corral up: ${error.message}\n`);
    }
    throw error;
  }
  const ids = Array.from({ length: flags.nodes }, (_, index) => `n${index + 1}`);
  const nodes: RunningNode[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      removeEnsembleFile(flags.dataDir);
      await stopNodes(nodes, 10_000);
      await redis.local?.stop();
    })();
    return stopping;
  };
  let signalled: (() => void) | undefined;
  const signalledPromise = new Promise<void>((resolveSignal) => (signalled = resolveSignal));
  const onSignal = (): void => signalled?.();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  process.once("SIGHUP", onSignal);

  try {
    const redisShown = redactRedisUrl(redis.url);
    say(`corral up: ${flags.nodes} node(s), cluster ${flags.cluster}, Redis ${redisShown}${redis.local === undefined ? "" : " (started here, user corral, password in redis.password)"}, data ${resolve(flags.dataDir)}`);
    // Free loopback ports per node: several ensembles (and a ZooKeeper on 2181) may run side by side.
    for (const id of ids) nodes.push(spawnNode(id, ids, flags, redis, await freePort(), await freePort(), mainScript));
    const status = await Promise.race([waitForLeader(nodes, flags.leaderTimeoutMs), signalledPromise.then(() => undefined)]);
    if (status === undefined) return ExitCode.Ok;

    const record: EnsembleRecord = {
      version: 1,
      cluster: flags.cluster,
      redisUrl: redis.url,
      ...(Object.keys(redis.auth).length === 0 ? {} : { redisAuth: redis.auth }),
      nodes: nodes.map((node) => ({ id: node.id, adminUrl: node.adminUrl, pid: node.child.pid ?? 0, clientAddress: node.clientAddress })),
      upPid: process.pid,
      redisPid: redis.local?.pid ?? null,
      startedAt: new Date().toISOString(),
    };
    const file = writeEnsembleFile(flags.dataDir, record);
    for (const line of formatStatusTable(status)) say(line);
    say("");
    say(`  cluster   ${flags.cluster}`);
    say(`  redis     ${redisShown}${redis.auth.user === undefined ? "" : ` (user ${redis.auth.user})`}`);
    for (const node of nodes) say(`  ${node.id.padEnd(9)} ${node.adminUrl}/status   client ${node.clientAddress}   log ${node.logFile}`);
    say(`  zookeeper ${nodes.map((node) => node.clientAddress).join(",")}    (ZooKeeper connect string: kazoo, Curator, zkCli.sh -server ...)`);
    say(`  record    ${file}`);
    say(`  shell     pnpm corral shell --data ${flags.dataDir}    (or: --redis ${redisShown} --cluster ${flags.cluster} --nodes ${ids.join(",")}${redisAuthArgs(redis.auth).map((arg) => ` ${arg}`).join("")})`);
    say(`  status    pnpm corral status --data ${flags.dataDir}`);
    say("");

    if (flags.shell) {
      // The shell talks to the nodes' client ports (ZooKeeper's wire protocol), not through Redis.
      const client = await connectClient({ servers: nodes.map((node) => node.clientAddress) });
      try {
        await Promise.race([
          interactiveShell(client, { redisUrl: redis.url, cluster: flags.cluster, nodes: ids, admin: record.nodes, dataDir: flags.dataDir }, io),
          signalledPromise,
        ]);
      } finally {
        await client.close().catch(() => undefined);
      }
    } else {
      say("ensemble running; Ctrl-C or SIGTERM stops it");
      const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
      let last = "";
      let done = false;
      void signalledPromise.then(() => (done = true));
      while (!done) {
        const line = statusLine(await ensembleStatus(nodes, 1_000));
        if (tty) io.stdout.write(`\r\x1b[K${line}`);
        else if (line !== last) say(line);
        last = line;
        await Promise.race([new Promise((resolveDelay) => setTimeout(resolveDelay, 1_000).unref()), signalledPromise]);
      }
      if (tty) io.stdout.write("\n");
    }
    say("corral up: stopping");
    return ExitCode.Ok;
  } finally {
    await stopAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    say("corral up: stopped");
  }
}
