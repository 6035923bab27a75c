/**
 * A Redis for `corral up` when none is given: the `redis-server` binary on a
 * free loopback port, no persistence (Redis is only our network). A shell
 * watchdog on our stdin pipe SIGKILLs it when this process dies, so even a
 * killed `corral up` leaves no server behind.
 *
 * Locked down (issue 13, docs/security.md): the `default` user is disabled,
 * so a connection that has not authenticated can run no command at all;
 * Corral's processes authenticate as the ACL user `corral`, whose password
 * is 32 bytes from the OS CSPRNG, made fresh at every start and kept in
 * `<data>/redis.password` (0600). Only the password's SHA-256 is on the
 * server's command line. The user may touch only the cluster's keys and run
 * only the commands Corral sends. Protected mode is on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { accessSync, chmodSync, constants, renameSync, rmSync, writeFileSync } from "node:fs";
import { freePort, loadRedisAuth, pingRedis, redisOptionsFromUrl, type RedisAuthFiles } from "@corral/actors";
import { delimiter, join } from "node:path";
import { StartFailed } from "./errors.js";

export { freePort };

/** What a client of a Redis passes to connect(): the URL alone, or full options with the credentials read from their files. */
export function clientRedisOptions(url: string, auth: RedisAuthFiles | undefined): string | ReturnType<typeof redisOptionsFromUrl> {
  if (auth === undefined || Object.keys(auth).length === 0) return url;
  return redisOptionsFromUrl(url, loadRedisAuth(url, auth).options);
}

export interface LocalRedis {
  readonly url: string;
  readonly pid: number | null;
  /** The ACL user Corral's processes authenticate as. */
  readonly user: string;
  /** The file holding that user's password (0600, in the data directory). */
  readonly passwordFile: string;
  stop(): Promise<void>;
}

/** The ACL user of `corral up`'s own Redis. */
export const LOCAL_REDIS_USER = "corral";
/** Where `corral up` keeps its Redis password, in its data directory. */
export const LOCAL_REDIS_PASSWORD_FILE = "redis.password";

/**
 * Every command Corral sends to Redis: streams (network, fault control),
 * discovery hints (SADD/HSET/HDEL), and what ioredis sends on connect
 * (INFO for the ready check, CLIENT SETNAME, SELECT), PING, QUIT.
 */
export const CORRAL_REDIS_COMMANDS: readonly string[] = ["xadd", "xread", "xrevrange", "xrange", "pexpire", "sadd", "hset", "hdel", "ping", "info", "client|setname", "select", "quit"];

/**
 * The ACL rule of the `corral` user for one cluster: its keys only (the
 * streams and sets under `corral:{<cluster>}:`, and the admin hint hash
 * `corral:<cluster>:admin`), no pub/sub channels, Corral's commands only.
 * The password is given by its SHA-256 (`#<hex>`), so the rule holds no secret.
 */
export function localRedisAclRule(cluster: string, passwordSha256Hex: string): string[] {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(cluster)) throw new StartFailed("redis-server", `cluster name "${cluster}" is not valid in a Redis key pattern`);
  if (!/^[0-9a-f]{64}$/.test(passwordSha256Hex)) throw new StartFailed("redis-server", "the password hash must be 64 hex digits");
  return [LOCAL_REDIS_USER, "reset", "on", `#${passwordSha256Hex}`, `~corral:{${cluster}}:*`, `~corral:${cluster}:admin`, "resetchannels", "-@all", ...CORRAL_REDIS_COMMANDS.map((command) => `+${command}`)];
}

/** A new random password (256 bits from the OS CSPRNG) in `<dataDir>/redis.password`, mode 0600, written whole or not at all. */
export function writeLocalRedisPassword(dataDir: string): { readonly file: string; readonly sha256Hex: string } {
  const file = join(dataDir, LOCAL_REDIS_PASSWORD_FILE);
  const password = randomBytes(32).toString("base64url");
  const temp = `${file}.${process.pid}.tmp`;
  rmSync(temp, { force: true });
  writeFileSync(temp, `${password}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return { file, sha256Hex: createHash("sha256").update(password, "utf8").digest("hex") };
}

/** The redis-server binary on PATH (or $REDIS_SERVER), or undefined. */
export function findRedisServer(env: NodeJS.ProcessEnv): string | undefined {
  const explicit = env["REDIS_SERVER"];
  const candidates = explicit !== undefined && explicit !== "" ? [explicit] : (env["PATH"] ?? "").split(delimiter).filter((dir) => dir !== "").map((dir) => join(dir, "redis-server"));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether the Redis at `url` answers (a TCP PING, no client library needed). */
export function redisReachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const parsed = new URL(url);
  return pingRedis(parsed.hostname, parsed.port === "" ? 6379 : Number(parsed.port), timeoutMs, true);
}

const WATCHDOG_SCRIPT = 'exec 3<&0; (read -r _ <&3; kill -9 $$) >/dev/null 2>&1 & exec "$0" "$@" 3<&- </dev/null';

export interface StartLocalRedisOptions {
  /** `corral up`'s data directory: the password file goes here. */
  readonly dataDir: string;
  /** The cluster whose keys the ACL user may touch. */
  readonly cluster: string;
  readonly startTimeoutMs?: number;
}

export async function startLocalRedis(binary: string, options: StartLocalRedisOptions): Promise<LocalRedis> {
  const host = "127.0.0.1";
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const secret = writeLocalRedisPassword(options.dataDir);
  const acl = localRedisAclRule(options.cluster, secret.sha256Hex);
  let lastReason = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(host);
    const args = ["--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--user", "default", "reset", "--user", ...acl];
    const child: ChildProcess = spawn("sh", ["-c", WATCHDOG_SCRIPT, binary, ...args], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    child.stdin?.on("error", () => undefined);
    const exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", (error) => {
        lastReason = error.message;
        resolve();
      });
    });
    let dead = false;
    void exited.then(() => (dead = true));
    const deadline = Date.now() + timeoutMs;
    let up = false;
    while (!dead && Date.now() < deadline) {
      // The default user is off: an unauthenticated PING is answered NOAUTH, which means up.
      if (await pingRedis(host, port, 500, true)) {
        up = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const kill = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      child.stdin?.destroy();
      await exited;
    };
    if (up) {
      return { url: `redis://${host}:${port}`, pid: child.pid ?? null, user: LOCAL_REDIS_USER, passwordFile: secret.file, stop: kill };
    }
    lastReason = stderr.trim() || lastReason || `no PING answer within ${timeoutMs} ms`;
    await kill();
  }
  throw new StartFailed(`redis-server (${binary})`, lastReason);
}

/** The Redis credential flags of `up` and `shell`: flag, env var, RedisAuthFiles field (paths and names only, never a password). */
export const REDIS_AUTH_FLAGS = [
  ["redis-user", "CORRAL_REDIS_USER", "user"],
  ["redis-password-file", "CORRAL_REDIS_PASSWORD_FILE", "passwordFile"],
  ["redis-tls-ca", "CORRAL_REDIS_TLS_CA", "tlsCaFile"],
  ["redis-tls-cert", "CORRAL_REDIS_TLS_CERT", "tlsCertFile"],
  ["redis-tls-key", "CORRAL_REDIS_TLS_KEY", "tlsKeyFile"],
  ["redis-tls-servername", "CORRAL_REDIS_TLS_SERVERNAME", "tlsServername"],
] as const satisfies readonly (readonly [string, string, keyof RedisAuthFiles])[];

export type RedisAuthFlag = (typeof REDIS_AUTH_FLAGS)[number][0];

/** The RedisAuthFiles given by flags (first) or env; `path` maps file arguments (e.g. to absolute paths). */
export function redisAuthFromFlags(values: Partial<Record<RedisAuthFlag, string | undefined>>, env: NodeJS.ProcessEnv, path: (file: string) => string = (file) => file): RedisAuthFiles {
  const auth: Record<string, string> = {};
  for (const [flag, envName, field] of REDIS_AUTH_FLAGS) {
    const given = values[flag] ?? env[envName];
    if (given !== undefined && given !== "") auth[field] = flag.endsWith("-user") || flag.endsWith("-servername") ? given : path(given);
  }
  return auth as RedisAuthFiles;
}
