/**
 * A throwaway Redis for tests, usable from any package's tests:
 *
 *   import { startRedis } from "../../../test/support/redis.js";
 *   const redis = await startRedis();   // { url, host, port, stop, kill, restart }
 *   afterAll(() => redis.stop());
 *
 * Uses Testcontainers' `redis:7` when a container runtime is reachable, else
 * spawns the `redis-server` binary on a free loopback port (no persistence).
 * Detection is cheap (a DOCKER_HOST / socket / testcontainers.properties hint
 * before any connection attempt) and cached per process. Force a backend with
 * CORRAL_TEST_REDIS=container|binary.
 *
 * Teardown is guaranteed: `stop()`, process exit handlers, and for the binary a
 * shell watchdog that SIGKILLs redis-server when this process's pipe closes,
 * so even a SIGKILLed test worker leaves no server behind.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort, pingRedis } from "@corral/actors";
import { homedir } from "node:os";
import { join } from "node:path";

export interface TestRedis {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly backend: "container" | "binary";
  /** Stop and remove the server. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the server (no shutdown); `restart()` brings it back on the same port. */
  kill(): Promise<void>;
  /** Start again on the same port (after `kill`, or stop-and-start if it runs), empty. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** Force a backend; default: container when a runtime answers, else binary. */
  readonly backend?: "container" | "binary";
  /** Path of the redis-server binary (binary backend). */
  readonly redisServerPath?: string;
  /** Extra redis-server arguments, e.g. ["--maxmemory", "64mb"]. */
  readonly extraArgs?: readonly string[];
  /** Bound on waiting for PING to answer. */
  readonly startTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 15_000;

let containerRuntimeAnswer: Promise<boolean> | undefined;

/** Whether a container runtime is reachable. Cached; fast (no connection) when there is no hint of one. */
export function containerRuntimeAvailable(): Promise<boolean> {
  containerRuntimeAnswer ??= detectContainerRuntime();
  return containerRuntimeAnswer;
}

async function detectContainerRuntime(): Promise<boolean> {
  const forced = process.env["CORRAL_TEST_REDIS"];
  if (forced === "binary") return false;
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const hints = [
    "/var/run/docker.sock",
    join(homedir(), ".docker", "run", "docker.sock"),
    join(homedir(), ".docker", "desktop", "docker.sock"),
    join(homedir(), ".testcontainers.properties"),
    ...(uid === undefined ? [] : [`/run/user/${uid}/docker.sock`, `/run/user/${uid}/podman/podman.sock`]),
  ];
  const hinted = forced === "container" || Boolean(process.env["DOCKER_HOST"]) || hints.some((path) => existsSync(path));
  if (!hinted) return false;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    const probe = getContainerRuntimeClient().then(() => true);
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref());
    return await Promise.race([probe, timeout]);
  } catch {
    return false;
  }
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const backend = options.backend ?? ((await containerRuntimeAvailable()) ? "container" : "binary");
  return backend === "container" ? startContainerRedis(options) : startBinaryRedis(options);
}

// ---------------------------------------------------------------------------
// Binary backend

export { freePort, pingRedis };

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of liveChildren) child.kill("SIGKILL");
  });
}

/**
 * The shell keeps fd 3 on our stdin pipe and forks a watchdog reading it; then
 * `exec`s redis-server (same pid). When this process dies or closes the pipe,
 * the watchdog's read returns and it SIGKILLs redis-server.
 */
const WATCHDOG_SCRIPT = 'exec 3<&0; (read -r _ <&3; kill -9 $$) >/dev/null 2>&1 & exec "$0" "$@" 3<&- </dev/null';

interface RunningServer {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function spawnRedisServer(binary: string, port: number, extraArgs: readonly string[]): RunningServer {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", ...extraArgs];
  const child = spawn("sh", ["-c", WATCHDOG_SCRIPT, binary, ...args], { stdio: ["pipe", "ignore", "pipe"] });
  liveChildren.add(child);
  installExitHook();
  child.stderr?.resume();
  child.stdin?.on("error", () => undefined);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      liveChildren.delete(child);
      child.stdin?.destroy();
      resolve();
    });
    child.once("error", () => {
      liveChildren.delete(child);
      resolve();
    });
  });
  return { child, exited };
}

async function waitForPing(host: string, port: number, server: RunningServer, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    // NOAUTH counts as up: a server with ACL users or requirepass answers an unauthenticated PING so.
    if (await pingRedis(host, port, 500, true)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function killServer(server: RunningServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
  server.child.stdin?.destroy();
  await server.exited;
}

async function startBinaryRedis(options: StartRedisOptions): Promise<TestRedis> {
  const binary = options.redisServerPath ?? process.env["REDIS_SERVER"] ?? "redis-server";
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const host = "127.0.0.1";
  const extraArgs = options.extraArgs ?? [];

  const launch = async (port: number): Promise<RunningServer | undefined> => {
    const server = spawnRedisServer(binary, port, extraArgs);
    if (await waitForPing(host, port, server, timeoutMs)) return server;
    await killServer(server);
    return undefined;
  };

  let port = 0;
  let server: RunningServer | undefined;
  for (let attempt = 0; attempt < 5 && server === undefined; attempt++) {
    port = await freePort();
    server = await launch(port);
  }
  if (server === undefined) throw new Error(`could not start ${binary} (is it installed? scripts/ensure-deps installs it)`);

  let current: RunningServer | undefined = server;
  let stopped = false;
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    backend: "binary",
    async stop() {
      stopped = true;
      if (current !== undefined) await killServer(current);
      current = undefined;
    },
    async kill() {
      if (current !== undefined) await killServer(current);
      current = undefined;
    },
    async restart() {
      if (stopped) throw new Error("restart() after stop()");
      if (current !== undefined) await killServer(current);
      current = undefined;
      // The port was just released; retry briefly in case the kernel still holds it.
      for (let attempt = 0; attempt < 20 && current === undefined; attempt++) {
        current = await launch(port);
        if (current === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (current === undefined) throw new Error(`could not restart redis-server on port ${port}`);
    },
  };
}

// ---------------------------------------------------------------------------
// Container backend

async function startContainerRedis(options: StartRedisOptions): Promise<TestRedis> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import("testcontainers");
  // A fixed host port so restart() keeps the address clients reconnect to.
  const hostPort = await freePort();
  const container = await new GenericContainer("redis:7")
    .withExposedPorts({ container: 6379, host: hostPort })
    .withCommand(["redis-server", "--save", "", "--appendonly", "no", ...(options.extraArgs ?? [])])
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .withStartupTimeout(options.startTimeoutMs ?? 60_000)
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  const client = await getContainerRuntimeClient();
  let stopped = false;
  let running = true;
  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    while (Date.now() < deadline) {
      if (await pingRedis(host, port, 500, true)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("redis container did not answer PING after restart");
  };
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    backend: "container",
    async stop() {
      if (stopped) return;
      stopped = true;
      await container.stop({ timeout: 0, remove: true });
    },
    async kill() {
      if (!running) return;
      running = false;
      await client.container.getById(container.getId()).kill({ signal: "SIGKILL" });
    },
    async restart() {
      if (stopped) throw new Error("restart() after stop()");
      await container.restart({ timeout: 0 });
      running = true;
      await waitReady();
    },
  };
}
