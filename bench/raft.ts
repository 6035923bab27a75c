/**
 * Raft core benchmark: 3 RawNodes in one process, messages passed in memory,
 * batching and pipelining on. Closed loop with a window of outstanding
 * proposals; reports committed proposals/s and commit latency (propose ->
 * the leader hands the entry out as committed) p50/p99.
 *
 *   pnpm bench raft [--seconds 3] [--window 256] [--payload 100] [--dir /path]
 *                   [--redis redis://host:port] [--no-processes | --processes-only] [--inflight 256,8]
 *
 * Rows: in-memory log (no fsync: core speed), FileDurableLog with fsync
 * "none" (labelled: benchmarks only) and fsync "always" (one fsync per Ready
 * per node: group commit); then 3 OS processes (bench/raft-process/peer.ts),
 * each a RawNode on a FileDurableLog (fsync "always") talking over Redis
 * Streams (a redis-server is started unless --redis is given), measured on
 * the leader; one row per --inflight value (RawNode maxInflightAppends: 256
 * is the server's default, 8 shows what batching entries into fewer MsgApps
 * is worth).
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { SeededRandom } from "@corral/actors";
import { ProcessBenchFailed, runProcessBench } from "./raft-process/cluster.js";
import { FileDurableLog, MemoryDurableLog, RawNode, type DurableLog, type FsyncPolicy, type RaftConfig, type RaftMessage } from "@corral/consensus";

function option(args: readonly string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? (args[at + 1] as string) : fallback;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const IDS = ["n1", "n2", "n3"];

function config(id: string): RaftConfig {
  return {
    id,
    electionTicksMin: 15,
    electionTicksMax: 30,
    heartbeatTicks: 2,
    preVote: true,
    checkQuorum: true,
    maxInflightAppends: 64,
    maxInflightBytes: 8 * 1024 * 1024,
    maxEntriesPerAppend: 512,
    maxBytesPerAppend: 1024 * 1024,
    maxUncommittedBytes: 64 * 1024 * 1024,
    snapshotChunkBytes: 1024 * 1024,
  };
}

interface Row {
  readonly name: string;
  readonly committed: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly syncsPerNode: number;
}

type Persist = (log: DurableLog, batch: Parameters<DurableLog["save"]>[0]) => Promise<void> | void;

async function run(name: string, logs: DurableLog[], persist: Persist, seconds: number, window: number, payloadBytes: number, syncCount: () => number): Promise<Row> {
  const nodes = new Map<string, RawNode>();
  for (let i = 0; i < IDS.length; i++) {
    const id = IDS[i] as string;
    const recovered = await (logs[i] as DurableLog).load();
    nodes.set(id, new RawNode(config(id), recovered, { voters: IDS, learners: [] }, new SeededRandom(i + 1)));
  }
  let queue: RaftMessage[] = [];
  const leader = nodes.get("n1") as RawNode;
  const started = new Map<number, number>();
  const latencies: number[] = [];
  let committed = 0;
  let measuring = false;

  const round = async () => {
    const readies = [...nodes.entries()].filter(([, n]) => n.hasReady()).map(([id, n]) => ({ id, n, rd: n.ready() }));
    for (const { rd } of readies) queue.push(...rd.messages);
    // Group commit: one save (one fsync) per node per Ready, the three nodes in parallel.
    await Promise.all(readies.map(({ id, rd }) => persist(logs[IDS.indexOf(id)] as DurableLog, rd.hardState === undefined ? { entries: rd.entries } : { hardState: rd.hardState, entries: rd.entries })));
    const now = performance.now();
    for (const { n, rd } of readies) {
      queue.push(...rd.messagesAfterPersist);
      if (n === leader) {
        for (const e of rd.committedEntries) {
          const t = started.get(e.index);
          if (t === undefined) continue;
          started.delete(e.index);
          if (measuring) {
            latencies.push(now - t);
            committed++;
          }
        }
      }
      n.advance(rd);
    }
    const q = queue;
    queue = [];
    for (const m of q) nodes.get(m.to)?.step(m);
  };

  leader.campaign();
  for (let i = 0; i < 20 && leader.status().role !== "leader"; i++) await round();
  if (leader.status().role !== "leader") throw new Error("bench: n1 did not become leader");
  const payload = new Uint8Array(payloadBytes).fill(7);
  const warmupUntil = performance.now() + 300;
  let deadline = Number.POSITIVE_INFINITY;
  let measureStart = 0;
  for (;;) {
    const now = performance.now();
    if (!measuring && now >= warmupUntil) {
      measuring = true;
      measureStart = now;
      deadline = now + seconds * 1000;
    }
    if (now >= deadline) break;
    while (started.size < window) {
      const r = leader.propose(payload);
      if (!r.ok) break;
      started.set(r.index, performance.now());
    }
    await round();
  }
  const elapsed = (performance.now() - measureStart) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, committed, seconds: elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), syncsPerNode: syncCount() / IDS.length };
}

export async function main(args: string[]): Promise<void> {
  const seconds = Number(option(args, "seconds", "3"));
  const window = Number(option(args, "window", "256"));
  const payloadBytes = Number(option(args, "payload", "100"));
  const baseDir = option(args, "dir", os.tmpdir());
  const rows: Row[] = [];

  const inProcess = !args.includes("--processes-only");
  const memLogs = IDS.map(() => new MemoryDurableLog({ autoSync: false }));
  if (inProcess) rows.push(
    await run("in-memory log (no fsync)", memLogs, (log, batch) => {
      const m = log as MemoryDurableLog;
      m.write(batch);
      m.syncAll();
    }, seconds, window, payloadBytes, () => memLogs.reduce((s, l) => s + l.syncCount, 0)),
  );

  for (const fsync of (inProcess ? ["none", "always"] : []) as FsyncPolicy[]) {
    const dir = await fs.mkdtemp(path.join(baseDir, "corral-bench-raft-"));
    const fileLogs = IDS.map((id) => new FileDurableLog({ directory: path.join(dir, id), fsync }));
    try {
      rows.push(
        await run(`file WAL, fsync=${fsync}${fsync === "none" ? " (benchmark only)" : ""}`, fileLogs, (log, batch) => log.save(batch), seconds, window, payloadBytes, () =>
          fileLogs.reduce((s, l) => s + l.stats().walSyncs, 0),
        ),
      );
    } finally {
      await Promise.all(fileLogs.map((l) => l.close()));
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  const processRows: Row[] = [];
  let processNote = "";
  if (!args.includes("--no-processes")) {
    const redisUrl = option(args, "redis", "");
    // 256 is the server's RawNode default; a small window makes the leader batch entries into fewer MsgApps.
    const inflights = option(args, "inflight", "256,8").split(",").map(Number);
    for (const maxInflightAppends of inflights) {
      try {
        const outcome = await runProcessBench({ seconds, window, payloadBytes, baseDirectory: baseDir, maxInflightAppends, ...(redisUrl === "" ? {} : { redisUrl }) });
        const { result } = outcome;
        processRows.push({ name: `3 processes, Redis, fsync=always, infl ${maxInflightAppends}`, committed: result.committed, seconds: result.seconds, p50Ms: result.p50Ms, p99Ms: result.p99Ms, syncsPerNode: result.walSyncs });
        const dropped = outcome.stats.reduce((sum, s) => sum + s.framesDropped, 0);
        const sent = outcome.stats.reduce((sum, s) => sum + s.framesSent, 0);
        processNote += `  infl ${maxInflightAppends}: leader ${result.id}, term ${result.term}; ${sent} frames sent, ${dropped} dropped (syncs/node = the leader's fsyncs)\n`;
        for (const s of outcome.stats) {
          processNote += `    ${s.id}: ${s.role} commit ${s.commit}, ${s.readies} readies, ${s.saveMs} ms in saves, ${s.walSyncs} fsyncs, max tick gap ${s.maxTickGapMs} ms, ${s.framesReceived} frames in\n`;
        }
      } catch (error) {
        if (!(error instanceof ProcessBenchFailed)) throw error;
        processNote += `3 processes over Redis Streams, infl ${maxInflightAppends}: FAILED: ${error.reason}\n`;
        process.exitCode = 1;
      }
    }
  }

  process.stdout.write(`\nRaft, 3 nodes, ${payloadBytes}-byte proposals, window ${window}, ${seconds}s each (first rows: one process)\n`);
  process.stdout.write(`${"storage".padEnd(40)} ${"commits/s".padStart(10)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"syncs/node".padStart(10)}\n`);
  for (const r of [...rows, ...processRows]) {
    process.stdout.write(
      `${r.name.padEnd(40)} ${Math.round(r.committed / r.seconds).toString().padStart(10)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${Math.round(r.syncsPerNode).toString().padStart(10)}\n`,
    );
  }
  process.stdout.write(processNote);
}
