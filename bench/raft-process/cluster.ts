/**
 * The parent side of the multi-process Raft bench: starts Redis (unless a URL
 * is given), spawns 3 peer.ts processes with fresh data directories, tells
 * them "go" once all have opened their inboxes, waits for the leader's result
 * line, collects every peer's stats, then kills the peers, removes the data
 * directories and stops Redis: always, also when something failed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import * as readline from "node:readline";
import { fileURLToPath } from "node:url";
import { startRedis, type TestRedis } from "../../test/support/redis.js";
import { parseReport, type PeerReport, type PeerResult, type PeerStats } from "./reports.js";

export interface ProcessBenchOptions {
  readonly seconds: number;
  readonly window: number;
  readonly payloadBytes: number;
  /** Parent of the temporary data directory. */
  readonly baseDirectory: string;
  /** Use this Redis instead of starting one. */
  readonly redisUrl?: string;
  readonly peerCount?: number;
  /** RawNode's per-follower MsgApp window (the server's default is 256). */
  readonly maxInflightAppends?: number;
  /** Bound on startup (tsx compile of every peer) and on electing a leader. */
  readonly startTimeoutMs?: number;
}

export interface ProcessBenchOutcome {
  readonly result: PeerResult;
  readonly stats: readonly PeerStats[];
  readonly redisUrl: string;
}

/** The bench could not produce a number; `reason` says why (peer output tail included). */
export class ProcessBenchFailed extends Error {
  readonly _tag = "ProcessBenchFailed";
  readonly code = "PROCESS_BENCH_FAILED";
  constructor(readonly reason: string) {
    super(`raft multi-process bench failed: ${reason}`);
    this.name = "ProcessBenchFailed";
  }
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPOSITORY_ROOT = path.resolve(HERE, "../..");
const PEER_SCRIPT = path.join(HERE, "peer.ts");
const STDERR_TAIL_BYTES = 4096;
const KILL_GRACE_MS = 2000;

interface Peer {
  readonly id: string;
  readonly child: ChildProcess;
  stderrTail: string;
  exited: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function stopPeer(peer: Peer): Promise<void> {
  if (peer.exited) return;
  const exited = new Promise<void>((resolve) => peer.child.once("exit", () => resolve()));
  peer.child.kill("SIGTERM");
  await Promise.race([exited, sleep(KILL_GRACE_MS)]);
  if (!peer.exited) {
    peer.child.kill("SIGKILL");
    await exited;
  }
}

export async function runProcessBench(options: ProcessBenchOptions): Promise<ProcessBenchOutcome> {
  const peerCount = options.peerCount ?? 3;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const ids = Array.from({ length: peerCount }, (_unused, index) => `n${index + 1}`);
  const directory = await fs.mkdtemp(path.join(options.baseDirectory, "corral-bench-raft-process-"));
  const peers: Peer[] = [];
  let redis: TestRedis | undefined;
  // A crashing parent must not leave peers behind (they also exit when their stdin closes).
  const killAll = (): void => {
    for (const peer of peers) if (!peer.exited) peer.child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  // Ctrl-C: the finally below never runs, so clean up synchronously (Redis has its own watchdog).
  const interrupted = (): void => {
    killAll();
    rmSync(directory, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", interrupted);

  /** Reports not yet consumed, and whoever waits for the next one. */
  const inbox: PeerReport[] = [];
  let wake: (() => void) | undefined;
  const push = (report: PeerReport): void => {
    inbox.push(report);
    wake?.();
  };
  const describePeers = (): string =>
    peers.map((peer) => `${peer.id}${peer.exited ? ` exited ${String(peer.child.exitCode ?? peer.child.signalCode)}` : ""}: ${peer.stderrTail.trim().slice(-600) || "(no stderr)"}`).join("\n");

  /** Waits until `accept` has taken what it needs from the reports; a peer exiting or a "failed" report aborts. */
  const waitFor = async (what: string, timeoutMs: number, accept: (report: PeerReport) => boolean): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (inbox.length > 0) {
        const report = inbox.shift() as PeerReport;
        if (report.type === "failed") throw new ProcessBenchFailed(`${report.id}: ${report.reason}`);
        if (accept(report)) return;
      }
      const dead = peers.find((peer) => peer.exited);
      if (dead !== undefined) throw new ProcessBenchFailed(`peer ${dead.id} exited while waiting for ${what}\n${describePeers()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ProcessBenchFailed(`timed out after ${timeoutMs} ms waiting for ${what}\n${describePeers()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  try {
    const redisUrl = options.redisUrl ?? (redis = await startRedis({ backend: "binary" })).url;
    const cluster = `benchraft${process.pid}`;
    for (const id of ids) {
      const args = [
        "--conditions=@corral/source", "--import", "tsx", PEER_SCRIPT,
        "--id", id, "--peers", ids.join(","), "--redis", redisUrl, "--cluster", cluster,
        "--dir", path.join(directory, id), "--seconds", String(options.seconds),
        "--window", String(options.window), "--payload", String(options.payloadBytes),
        ...(options.maxInflightAppends === undefined ? [] : ["--max-inflight-appends", String(options.maxInflightAppends)]),
        ...(id === ids[0] ? ["--campaign"] : []),
      ];
      const child = spawn(process.execPath, args, { cwd: REPOSITORY_ROOT, stdio: ["pipe", "pipe", "pipe"] });
      const peer: Peer = { id, child, stderrTail: "", exited: false };
      peers.push(peer);
      child.once("exit", () => {
        peer.exited = true;
        wake?.();
      });
      child.stdin?.on("error", () => undefined);
      child.stderr?.on("data", (chunk: Buffer) => {
        peer.stderrTail = (peer.stderrTail + chunk.toString("utf8")).slice(-STDERR_TAIL_BYTES);
      });
      if (child.stdout !== null) {
        readline.createInterface({ input: child.stdout }).on("line", (line) => {
          const report = parseReport(line);
          if (report !== undefined) push(report);
        });
      }
    }

    const ready = new Set<string>();
    await waitFor("every peer to open its inbox", startTimeoutMs, (report) => {
      if (report.type === "ready") ready.add(report.id);
      return ready.size === peerCount;
    });
    for (const peer of peers) peer.child.stdin?.write("go\n");

    let result: PeerResult | undefined;
    await waitFor("the leader's result", startTimeoutMs + options.seconds * 1000 + 5000, (report) => {
      if (report.type === "result") result = report;
      return result !== undefined;
    });

    const stats = new Map<string, PeerStats>();
    for (const peer of peers) peer.child.stdin?.write("stats\n");
    await waitFor("peer stats", 10_000, (report) => {
      if (report.type === "stats") stats.set(report.id, report);
      return stats.size === peerCount;
    });
    return { result: result as PeerResult, stats: ids.flatMap((id) => stats.get(id) ?? []), redisUrl };
  } finally {
    await Promise.all(peers.map((peer) => stopPeer(peer)));
    process.removeListener("exit", killAll);
    process.removeListener("SIGINT", interrupted);
    await fs.rm(directory, { recursive: true, force: true });
    await redis?.stop();
  }
}
