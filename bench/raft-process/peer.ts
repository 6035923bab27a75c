/**
 * One Raft peer of the multi-process bench, as its own OS process:
 *
 *   node --conditions=@corral/source --import tsx bench/raft-process/peer.ts \
 *     --id n1 --peers n1,n2,n3 --redis redis://127.0.0.1:6379 --cluster c1 --dir /tmp/x/n1 \
 *     [--seconds 3] [--window 256] [--payload 100] [--warmup-ms 500] [--max-inflight-appends 256] [--campaign]
 *
 * A RawNode on a FileDurableLog (fsync "always") and a RedisStreamsNetwork
 * endpoint whose frames are encodeRaftMessage bytes, driven by a 10 ms tick
 * and the standard Ready loop: send `messages`; persist hard state + entries
 * in ONE save (group commit); send `messagesAfterPersist`; apply committed;
 * advance. The same order as packages/server's Raft actor, without the actor
 * runtime and the state machine, so the row measures consensus + disk +
 * Redis hops only.
 *
 * The peer that leads proposes `--payload`-byte entries with at most
 * `--window` outstanding, warms up, measures for `--seconds`, and writes a
 * `result` line (propose -> commit latency on the leader, taken when the
 * leader's Ready hands the entry out as committed, after that Ready's save).
 * Protocol with the parent: stdout JSON lines (reports.ts); stdin lines "go"
 * (start ticking; `--campaign` peers campaign at once) and "stats". Stdin
 * closing (the parent died) or SIGTERM ends the process.
 */
import * as readline from "node:readline";
import { RedisStreamsNetwork, SeededRandom, type NetworkEndpoint } from "@corral/actors";
import { DecodeError, FileDurableLog, RawNode, Role, decodeRaftMessage, encodeRaftMessage, type RaftConfig, type RaftMessage, type Ready } from "@corral/consensus";
import { writeReport } from "./reports.js";

const TICK_MS = 10;

function option(args: readonly string[], name: string, fallback?: string): string {
  const at = args.indexOf(`--${name}`);
  const value = at >= 0 ? args[at + 1] : undefined;
  if (value !== undefined) return value;
  if (fallback !== undefined) return fallback;
  throw new Error(`peer: missing --${name}`);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const args = process.argv.slice(2);
const id = option(args, "id");
const peers = option(args, "peers").split(",");
const redisUrl = option(args, "redis");
const cluster = option(args, "cluster");
const directory = option(args, "dir");
const seconds = Number(option(args, "seconds", "3"));
const window = Number(option(args, "window", "256"));
const payloadBytes = Number(option(args, "payload", "100"));
const warmupMs = Number(option(args, "warmup-ms", "500"));
const campaign = args.includes("--campaign");
const maxInflightAppends = Number(option(args, "max-inflight-appends", "256"));

// The server's defaults (packages/server/src/config.ts: 10 ms tick, 15 election ticks, 3 heartbeat ticks)
// and its RawNode limits, so the row is what a node would do.
const config: RaftConfig = {
  id,
  electionTicksMin: 15,
  electionTicksMax: 30,
  heartbeatTicks: 3,
  preVote: true,
  checkQuorum: true,
  maxInflightAppends,
  maxInflightBytes: 16 * 1024 * 1024,
  maxEntriesPerAppend: 1024,
  maxBytesPerAppend: 1024 * 1024,
  maxUncommittedBytes: 64 * 1024 * 1024,
  snapshotChunkBytes: 512 * 1024,
};

const log = new FileDurableLog({ directory, fsync: "always" });
const recovered = await log.load();
const node = new RawNode(config, recovered, { voters: peers, learners: [] }, new SeededRandom(peers.indexOf(id) + 1));
const network = new RedisStreamsNetwork({ cluster, redisUrl });
let decodeFailures = 0;
let readies = 0;
let saveMs = 0;
let lastTickMs = 0;
let maxTickGapMs = 0;
let stopping = false;

const endpoint: NetworkEndpoint = await network.open(id, (_from, frame) => {
  const message = decodeRaftMessage(frame);
  if (message instanceof DecodeError) {
    decodeFailures += 1;
    return;
  }
  node.step(message);
  kick();
});

function send(message: RaftMessage): void {
  if (message.to === id) {
    // Never expected from RawNode, but a self-addressed message must not cost a Redis round trip.
    queueMicrotask(() => {
      node.step(message);
      kick();
    });
    return;
  }
  endpoint.send(message.to, encodeRaftMessage(message));
}

// ---------------------------------------------------------------- load (leader only)

type Phase = "idle" | "warmup" | "measure" | "done";
let phase: Phase = "idle";
let measureStartMs = 0;
let measureTerm = 0;
let walSyncsAtStart = 0;
let committed = 0;
const latencies: number[] = [];
/** Index -> performance.now() at propose, for entries not yet seen committed. */
const outstanding = new Map<number, number>();
const payload = new Uint8Array(payloadBytes).fill(7);

function isLeader(): boolean {
  return node.basicStatus().role === Role.Leader;
}

function fail(reason: string): void {
  if (phase === "done") return;
  phase = "done";
  writeReport({ type: "failed", id, reason });
}

function startLoad(): void {
  phase = "warmup";
  measureTerm = node.basicStatus().term;
  setTimeout(() => {
    if (phase !== "warmup") return;
    phase = "measure";
    measureStartMs = performance.now();
    walSyncsAtStart = log.stats().walSyncs;
    setTimeout(finishLoad, seconds * 1000);
  }, warmupMs);
}

function finishLoad(): void {
  if (phase !== "measure") return;
  const elapsedSeconds = (performance.now() - measureStartMs) / 1000;
  phase = "done";
  const status = node.basicStatus();
  if (status.role !== Role.Leader || status.term !== measureTerm) return fail(`lost leadership during the window (term ${measureTerm} -> ${status.term})`);
  latencies.sort((a, b) => a - b);
  writeReport({
    type: "result",
    id,
    committed,
    seconds: elapsedSeconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    walSyncs: log.stats().walSyncs - walSyncsAtStart,
    term: status.term,
  });
}

function fillWindow(): void {
  if (phase !== "warmup" && phase !== "measure") return;
  while (outstanding.size < window) {
    const result = node.propose(payload);
    if (!result.ok) break; // NotLeader or the uncommitted-bytes bound: try again after the next Ready
    outstanding.set(result.index, performance.now());
  }
}

function onCommitted(rd: Ready): void {
  if (outstanding.size === 0) return;
  const now = performance.now();
  for (const entry of rd.committedEntries) {
    const proposedAt = outstanding.get(entry.index);
    if (proposedAt === undefined) continue;
    outstanding.delete(entry.index);
    if (phase === "measure") {
      committed += 1;
      latencies.push(now - proposedAt);
    }
  }
}

// ---------------------------------------------------------------- the Ready loop

let driving = false;

function kick(): void {
  if (driving || stopping) return;
  driving = true;
  drive().then(
    () => (driving = false),
    (error: unknown) => {
      fail(`ready loop: ${error instanceof Error ? error.message : String(error)}`);
      void shutdown(1);
    },
  );
}

/** One Ready at a time; messages that arrive during a save are stepped in and picked up by the next turn. */
async function drive(): Promise<void> {
  while (!stopping && node.hasReady()) {
    const rd = node.ready();
    readies += 1;
    for (const message of rd.messages) send(message);
    if (rd.snapshot !== undefined) await log.saveSnapshot(rd.snapshot);
    if (rd.hardState !== undefined || rd.entries.length > 0) {
      const saveStartMs = performance.now();
      await log.save(rd.hardState === undefined ? { entries: rd.entries } : { hardState: rd.hardState, entries: rd.entries });
      saveMs += performance.now() - saveStartMs;
    }
    for (const message of rd.messagesAfterPersist) send(message);
    onCommitted(rd);
    node.advance(rd);
    if (phase === "idle" && isLeader()) startLoad();
    else if ((phase === "warmup" || phase === "measure") && !isLeader()) fail("stepped down during the window");
    fillWindow();
  }
}

// ---------------------------------------------------------------- control

let ticker: ReturnType<typeof setInterval> | undefined;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (ticker !== undefined) clearInterval(ticker);
  await Promise.allSettled([network.close(), log.close()]);
  process.exit(code);
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  const command = line.trim();
  if (command === "go" && ticker === undefined) {
    ticker = setInterval(() => {
      const now = performance.now();
      if (lastTickMs > 0) maxTickGapMs = Math.max(maxTickGapMs, now - lastTickMs);
      lastTickMs = now;
      node.tick();
      kick();
    }, TICK_MS);
    if (campaign) node.campaign();
    kick();
  } else if (command === "stats") {
    const status = node.basicStatus();
    const network = endpoint.stats();
    writeReport({
      type: "stats",
      id,
      role: status.role,
      term: status.term,
      commit: status.commit,
      walSyncs: log.stats().walSyncs,
      framesSent: network.framesSent,
      framesReceived: network.framesReceived,
      framesDropped: network.framesDropped,
      decodeFailures,
      readies,
      saveMs: Math.round(saveMs),
      maxTickGapMs: Math.round(maxTickGapMs),
    });
  }
});
// The parent is gone (or done with us): nobody would read our reports.
input.on("close", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
process.on("SIGINT", () => void shutdown(0));

writeReport({ type: "ready", id });
