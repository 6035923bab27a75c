/**
 * Child processes and temp directories of the comparison, tracked in one place
 * so that every exit path (normal end, exception, SIGINT/SIGTERM, process exit)
 * kills what we started and removes what we created. Nothing here kills by name:
 * only the pids this process spawned.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, closeSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const liveChildren = new Set<ChildProcess>();
const ownedDirectories = new Set<string>();
let handlersInstalled = false;

function cleanupSynchronously(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch (_error) {
        // Already gone: nothing left to clean.
      }
    }
  }
  liveChildren.clear();
  for (const directory of ownedDirectories) rmSync(directory, { recursive: true, force: true });
  ownedDirectories.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", cleanupSynchronously);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\ncompare: ${signal}, killing peers and removing temp dirs\n`);
      cleanupSynchronously();
      process.exit(130);
    });
  }
}

/** A fresh temp directory, removed on teardown or exit. */
export function makeOwnedDirectory(prefix: string): string {
  installHandlers();
  const directory = mkdtempSync(join(tmpdir(), prefix));
  ownedDirectories.add(directory);
  return directory;
}

export function removeOwnedDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  ownedDirectories.delete(directory);
}

/** Spawns `command` with stdout+stderr appended to `logFile`, tracked for cleanup. */
export function spawnTracked(command: string, args: readonly string[], logFile: string, environment?: NodeJS.ProcessEnv): ChildProcess {
  installHandlers();
  const logDescriptor = openSync(logFile, "a");
  const child = spawn(command, args, {
    stdio: ["ignore", logDescriptor, logDescriptor],
    env: environment ?? process.env,
  });
  closeSync(logDescriptor);
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  return child;
}

/** SIGKILLs `child` and resolves once it has exited. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    liveChildren.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  await exited;
  liveChildren.delete(child);
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * `count` distinct free TCP ports on 127.0.0.1. All are held open together so
 * they are distinct, then released for the peers to bind (a small race with
 * other processes on the machine, acceptable for a benchmark).
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("listening socket has no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Polls `probe` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = process.hrtime.bigint() + BigInt(timeoutMs) * 1_000_000n;
  while (process.hrtime.bigint() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(intervalMs);
  }
  return false;
}
