/**
 * A Redis for `corral up` when none is given: the `redis-server` binary on a
 * free loopback port, no persistence (Redis is only our network). A shell
 * watchdog on our stdin pipe SIGKILLs it when this process dies, so even a
 * killed `corral up` leaves no server behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { freePort, pingRedis } from "@corral/actors";
import { delimiter, join } from "node:path";
import { StartFailed } from "./errors.js";

export { freePort };

export interface LocalRedis {
  readonly url: string;
  readonly pid: number | null;
  stop(): Promise<void>;
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

export async function startLocalRedis(binary: string, options: { readonly startTimeoutMs?: number } = {}): Promise<LocalRedis> {
  const host = "127.0.0.1";
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let lastReason = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(host);
    const args = ["--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--protected-mode", "no"];
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
      if (await pingRedis(host, port)) {
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
      return { url: `redis://${host}:${port}`, pid: child.pid ?? null, stop: kill };
    }
    lastReason = stderr.trim() || lastReason || `no PING answer within ${timeoutMs} ms`;
    await kill();
  }
  throw new StartFailed(`redis-server (${binary})`, lastReason);
}
