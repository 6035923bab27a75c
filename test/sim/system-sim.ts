/**
 * Whole-system simulation (issue 8 item 2, DESIGN §10, STYLE: TigerBeetle's
 * VOPR, FoundationDB's swarm testing and BUGGIFY). One seed decides the
 * ensemble size, which fault kinds are on and how hard (swarm testing), the
 * fault schedule, the client workload and every message's fate.
 *
 * Safety phase: clients run a workload (registers with CAS, a child set,
 * ephemerals, one-shot watches, the recipes' Mutex guarding a FencedResource) while
 * faults are injected; the Raft and digest checkers sample between events and
 * the session checker sees every apply on every replica. Liveness phase: every
 * fault is healed; replicas must converge and a fresh client must complete a
 * write and a linearizable read within a bound. Then the histories are checked
 * for linearizability, watch logs for watch semantics and the resource log for
 * fencing.
 */
import { SeededRandom, enableBuggify, type ExecutorMode, type Random } from "@corral/actors";
import { Adversary } from "./adversary.js";
import { CorralClient } from "@corral/client";
import { FencedResource as RecipeFencedResource, Mutex } from "@corral/recipes";
import { CreateMode, ErrorCode, type CorralError, type Txn } from "@corral/protocol";
import type { StateMachine, StateMachineFactory } from "@corral/server";

type AppliedTxn = ReturnType<StateMachine["apply"]>;
import { UNKNOWN } from "../support/linearizability/index.js";
import { DigestChecker } from "./checkers/digest.js";
import { FencedResource, checkFencing } from "./checkers/fencing.js";
import { HistoryRecorder, checkHistories } from "./checkers/history.js";
import { RaftChecker } from "./checkers/raft.js";
import { SessionChecker } from "./checkers/session.js";
import { Violations, type Violation } from "./checkers/violation.js";
import { WatchLog, checkWatchLog } from "./checkers/watch.js";
import { SystemEnsemble } from "./system-ensemble.js";

export const FaultKind = {
  loss: "loss",
  duplication: "duplication",
  reorder: "reorder",
  delay: "delay",
  partitionHalves: "partition-halves",
  isolateLeader: "isolate-leader",
  asymmetric: "asymmetric",
  ring: "ring",
  crash: "crash",
  tornTail: "crash-torn-tail",
  pauseNode: "pause-node",
  pauseClient: "pause-client",
  clockDrift: "clock-drift",
  redisRestart: "redis-restart",
  /** An adversary with write access to the network but not the cluster key (adversary.ts). */
  forgedFrames: "forged-frames",
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];
const ALL_KINDS = Object.values(FaultKind);
/**
 * The kinds drawn from the seed's shape stream, in their original order: the
 * adversary is drawn from a stream of its own, so adding it changed no
 * earlier seed's run (pinned seeds keep reproducing what they were pinned for).
 */
const SHAPE_KINDS: readonly FaultKind[] = ALL_KINDS.filter((kind) => kind !== FaultKind.forgedFrames);

/** Bugs a test can plant to prove the checkers catch them. */
export type PlantedBug =
  /** The guarded resource ignores fencing tokens. */
  | "fencingIgnored"
  /** Replicas apply a session's close without deleting its ephemerals. */
  | "lateEphemeralDelete"
  /** Reads are served by whatever node the client is on, without ReadIndex (a lagging node serves the past). */
  | "staleReads"
  /** Node n1 silently skips applying one write (its tree diverges). */
  | "divergentReplica";

export interface SystemSimOptions {
  readonly seed: number;
  readonly nodes?: 3 | 5;
  readonly clients?: number;
  /** Simulated length of the safety phase (default 3,000 ms). */
  readonly safetyMs?: number;
  /** Bound on convergence and on the probe ops after healing (default 20,000 ms). */
  readonly livenessMs?: number;
  /** Planted fault points (buggify) on (default true). */
  readonly buggify?: boolean;
  readonly plantedBug?: PlantedBug;
  /** Only these fault kinds may be drawn (default: all). */
  readonly faultKinds?: readonly FaultKind[];
  /**
   * How actor-system drains are placed in time (issue 15): "interleaved"
   * delays each drain by a seeded 0..drainDelayMsMax ms so timers fire
   * between drains of one backlog, as live (a timer can meet a full mailbox).
   * Default: instant (every earlier seed replays unchanged).
   */
  readonly executorMode?: ExecutorMode;
}

export interface SystemSimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly traceHash: string;
  readonly operationsChecked: number;
  readonly faults: Readonly<Record<string, number>>;
  readonly enabledKinds: readonly FaultKind[];
  readonly buggifyFired: Readonly<Record<string, number>>;
  /** Frames the adversary injected, by attack (empty when it was off). */
  readonly adversary: Readonly<Record<string, number>>;
  readonly simulatedMs: number;
  readonly events: number;
  /** What the workload did: history ops (and how many of them ended unknown), watch events, fenced writes, sessions. */
  readonly workload: { readonly historyOps: number; readonly unknownOps: number; readonly watchEvents: number; readonly fencedWrites: number; readonly clients: number; readonly sessionsClosed: number; readonly snapshotInstalls: number };
}

const SESSION_TIMEOUT_MS = 1_200;
const REQUEST_TIMEOUT_MS = 2_500;
const REGISTER_KEYS = ["/k0", "/k1"];
const SET_PARENT = "/set";
const CHILD_NAMES = ["a", "b", "c", "d"];

function errorCode(error: unknown): number | undefined {
  const code = (error as Partial<CorralError> | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** NoNode/NodeExists/BadVersion are results; anything else (loss, timeout, expiry, closed) leaves the outcome unknown. */
function definite(error: unknown): "NoNode" | "NodeExists" | "BadVersion" | undefined {
  switch (errorCode(error)) {
    case ErrorCode.NoNode:
      return "NoNode";
    case ErrorCode.NodeExists:
      return "NodeExists";
    case ErrorCode.BadVersion:
      return "BadVersion";
    default:
      return undefined;
  }
}

const debug = (message: string): void => {
  if (process.env["SIM_DEBUG"] !== undefined) process.stderr.write(`${message}\n`);
};

const text = (data: Uint8Array): string => new TextDecoder().decode(data);

interface Context {
  readonly ensemble: SystemEnsemble;
  readonly history: HistoryRecorder;
  readonly resource: FencedResource;
  readonly watchLogs: WatchLog[];
  readonly violations: Violations;
  readonly faults: Record<string, number>;
  readonly linearizableReads: boolean;
  stopWorkload: boolean;
  clientsMade: number;
}

async function newClient(context: Context, label: string): Promise<CorralClient | undefined> {
  const { ensemble } = context;
  context.clientsMade++;
  try {
    return await CorralClient.connectWith(
      ensemble.clientEnv(label),
      { nodes: ensemble.nodeIds, sessionTimeoutMs: SESSION_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS, connectTimeoutMs: 5_000, closeTimeoutMs: 1_000 },
      { clientId: `c-${label}` },
    );
  } catch {
    return undefined;
  }
}

function sleep(context: Context, owner: string, ms: number): Promise<void> {
  return new Promise((resolve) => context.ensemble.clientEnv(owner).clock.setTimer(ms, resolve));
}

/** One client's workload: sequential ops drawn from its own random stream, until the safety phase ends. */
async function clientLoop(context: Context, name: string, random: Random): Promise<void> {
  let incarnation = 0;
  let written = 0;
  while (!context.stopWorkload) {
    const label = `${name}.${incarnation++}`;
    const client = await newClient(context, label);
    if (client === undefined) {
      await sleep(context, label, 100);
      continue;
    }
    const watchLog = new WatchLog(label);
    context.watchLogs.push(watchLog);
    client.on("state", (change) => watchLog.push({ kind: "note", text: `${change.state}${change.nodeId === undefined ? "" : `@${change.nodeId}`} at ${context.ensemble.sim.now()}` }));
    let ephemeralCount = 0;
    const now = (): number => context.ensemble.sim.now();
    while (!context.stopWorkload && client.state !== "expired" && client.state !== "closed") {
      const roll = random.next();
      try {
        if (roll < 0.45) {
          const path = REGISTER_KEYS[random.int(REGISTER_KEYS.length)]!;
          const kind = random.int(10);
          if (kind < 3) {
            const done = context.history.callRegister(label, { type: "getData", path }, now());
            try {
              const { data, stat } = await client.getData(path, { linearizable: context.linearizableReads });
              done({ code: "ok", data: text(data), version: stat.version }, now());
            } catch (error) {
              done(definite(error) === "NoNode" ? { code: "NoNode" } : UNKNOWN, now());
            }
          } else if (kind < 5) {
            const data = `${label}:${written++}`;
            const done = context.history.callRegister(label, { type: "create", path, data }, now());
            try {
              await client.create(path, data);
              done({ code: "ok" }, now());
            } catch (error) {
              const code = definite(error);
              done(code === "NodeExists" || code === "NoNode" ? { code } : UNKNOWN, now());
            }
          } else if (kind < 9) {
            const data = `${label}:${written++}`;
            const version = random.chance(0.5) ? -1 : random.int(4);
            const done = context.history.callRegister(label, { type: "setData", path, data, version }, now());
            try {
              const stat = await client.setData(path, data, version);
              done({ code: "ok", version: stat.version }, now());
            } catch (error) {
              const code = definite(error);
              done(code === "NoNode" || code === "BadVersion" ? { code } : UNKNOWN, now());
            }
          } else {
            const done = context.history.callRegister(label, { type: "delete", path, version: -1 }, now());
            try {
              await client.delete(path, -1);
              done({ code: "ok" }, now());
            } catch (error) {
              done(definite(error) === "NoNode" ? { code: "NoNode" } : UNKNOWN, now());
            }
          }
        } else if (roll < 0.6) {
          const name = CHILD_NAMES[random.int(CHILD_NAMES.length)]!;
          const kind = random.int(3);
          if (kind === 0) {
            const done = context.history.callSet(label, { type: "getChildren", parent: SET_PARENT }, now());
            try {
              const { children } = await client.getChildren(SET_PARENT, { linearizable: context.linearizableReads });
              done({ code: "ok", children: [...children].sort() }, now());
            } catch {
              done(UNKNOWN, now());
            }
          } else if (kind === 1) {
            const done = context.history.callSet(label, { type: "createChild", parent: SET_PARENT, name }, now());
            try {
              await client.create(`${SET_PARENT}/${name}`);
              done({ code: "ok" }, now());
            } catch (error) {
              done(definite(error) === "NodeExists" ? { code: "NodeExists" } : UNKNOWN, now());
            }
          } else {
            const done = context.history.callSet(label, { type: "deleteChild", parent: SET_PARENT, name }, now());
            try {
              await client.delete(`${SET_PARENT}/${name}`);
              done({ code: "ok" }, now());
            } catch (error) {
              done(definite(error) === "NoNode" ? { code: "NoNode" } : UNKNOWN, now());
            }
          }
        } else if (roll < 0.75) {
          // One-shot data watch on /w, then a few plain reads (the watch checker's "event before newer data").
          if (random.chance(0.3)) {
            await client.setData("/w", `${label}:${written++}`);
          } else {
            const watchId = watchLog.newWatchId();
            const { stat } = await client.getData("/w", { watch: (event) => watchLog.push({ kind: "event", watchId, path: event.path, zxid: event.zxid }) });
            watchLog.push({ kind: "registered", watchId, path: "/w", mzxid: stat.mzxid });
            for (let i = random.int(3); i > 0; i--) {
              const read = await client.getData("/w");
              watchLog.push({ kind: "read", path: "/w", mzxid: read.stat.mzxid });
            }
          }
        } else if (roll < 0.87) {
          if (ephemeralCount > 0 && random.chance(0.4)) {
            await client.delete(`/eph/${label}-${random.int(ephemeralCount)}`).catch(() => undefined);
          } else {
            await client.create(`/eph/${label}-${ephemeralCount++}`, "", { mode: CreateMode.Ephemeral });
          }
        } else {
          await lockRound(context, client, label, random);
        }
      } catch {
        // Outside the checked history: failures only matter through the checkers.
      }
      await sleep(context, label, random.int(30));
    }
    // Closing deletes the session's ephemerals: the session checker watches that happen at the close's zxid.
    if (client.state !== "expired") await client.close().catch(() => undefined);
  }
}

/**
 * The recipes package's Mutex guarding its FencedResource: the hold's fencing
 * token (the lock node's czxid) goes with every write; a paused or partitioned
 * ex-holder's writes must be refused once a newer holder wrote.
 */
async function lockRound(context: Context, client: CorralClient, label: string, random: Random): Promise<void> {
  const env = context.ensemble.clientEnv(label);
  const mutex = new Mutex(client, "/lock", { clock: env.clock, random });
  const hold = await mutex.acquire({ timeoutMs: 1_000 });
  try {
    const holder = `${label}#${hold.fencingToken}`;
    for (let i = 1 + random.int(3); i > 0; i--) {
      context.resource.write(holder, hold.fencingToken, context.ensemble.sim.now());
      await sleep(context, label, random.int(100));
    }
  } finally {
    await mutex.release().catch(() => undefined);
  }
}

function count(faults: Record<string, number>, kind: string): void {
  faults[kind] = (faults[kind] ?? 0) + 1;
}

/** The fault schedule of the safety phase; returns when the phase is over. */
async function injectFaults(context: Context, enabled: readonly FaultKind[], random: Random, safetyMs: number, intensity: number): Promise<void> {
  const { ensemble } = context;
  const ids = ensemble.nodeIds;
  const minority = Math.floor((ids.length - 1) / 2);
  const end = ensemble.sim.now() + safetyMs;
  const down = new Set<string>();
  const episodic = enabled.filter((k) => !["loss", "duplication", "reorder", "delay", "clock-drift", "forged-frames"].includes(k));
  const shuffled = (): string[] => {
    const out = [...ids];
    for (let i = out.length - 1; i > 0; i--) {
      const j = random.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  const pending: Promise<void>[] = [];
  const later = (ms: number, fn: () => Promise<void> | void): void => {
    pending.push(new Promise<void>((resolve) => ensemble.sim.after(ms, "fault-heal", () => void Promise.resolve(fn()).then(resolve, resolve))));
  };
  while (ensemble.sim.now() < end && episodic.length > 0) {
    await ensemble.runFor(50 + random.int(Math.max(1, Math.floor(600 / intensity))));
    if (ensemble.sim.now() >= end) break;
    const kind = episodic[random.int(episodic.length)]!;
    const span = 100 + random.int(1_500);
    switch (kind) {
      case "partition-halves": {
        const order = shuffled();
        const cut = 1 + random.int(ids.length - 1);
        ensemble.fault({ kind: "partition", groups: [order.slice(0, cut), order.slice(cut)] });
        later(span, () => ensemble.fault({ kind: "partition", groups: [] }));
        break;
      }
      case "isolate-leader": {
        const leader = ensemble.leader()?.id ?? ids[0]!;
        ensemble.fault({ kind: "partition", groups: [[leader], ids.filter((id) => id !== leader)] });
        later(span, () => ensemble.fault({ kind: "partition", groups: [] }));
        break;
      }
      case "asymmetric": {
        const [from, to] = shuffled();
        ensemble.fault({ kind: "block", from: from!, to: to! });
        later(span, () => ensemble.fault({ kind: "unblock", from: from!, to: to! }));
        break;
      }
      case "ring": {
        // Each node hears only its ring neighbours: a majority-connected ring without a clique.
        const order = shuffled();
        const blocked: [string, string][] = [];
        for (let i = 0; i < order.length; i++) {
          for (let j = 0; j < order.length; j++) {
            const distance = Math.min(Math.abs(i - j), order.length - Math.abs(i - j));
            if (distance > 1) blocked.push([order[i]!, order[j]!]);
          }
        }
        if (blocked.length === 0) {
          const [a, b] = order;
          blocked.push([a!, b!], [b!, a!]);
        }
        for (const [from, to] of blocked) ensemble.fault({ kind: "block", from, to });
        later(span, () => {
          for (const [from, to] of blocked) ensemble.fault({ kind: "unblock", from, to });
        });
        break;
      }
      case "crash":
      case "crash-torn-tail":
      case "pause-node": {
        if (down.size >= minority) continue;
        const candidates = ids.filter((id) => !down.has(id));
        const target = random.chance(0.5) ? (ensemble.leader()?.id ?? candidates[0]!) : candidates[random.int(candidates.length)]!;
        if (down.has(target)) continue;
        down.add(target);
        if (kind === "pause-node") {
          ensemble.pause(target);
          // Sometimes well beyond the session and election timeouts.
          later(random.chance(0.5) ? SESSION_TIMEOUT_MS * 2 + random.int(1_000) : span, () => {
            ensemble.resume(target);
            down.delete(target);
          });
        } else {
          await ensemble.crash(target, { tornTail: kind === "crash-torn-tail" });
          later(span, async () => {
            await ensemble.restart(target);
            down.delete(target);
          });
        }
        break;
      }
      case "pause-client": {
        const labels = context.watchLogs.slice(-4).map((log) => log.label);
        const label = labels[random.int(Math.max(1, labels.length))];
        if (label === undefined || ensemble.isPaused(label)) continue;
        ensemble.pause(label);
        later(SESSION_TIMEOUT_MS + random.int(2 * SESSION_TIMEOUT_MS), () => ensemble.resume(label));
        break;
      }
      case "redis-restart":
        ensemble.restartRedis(50 + random.int(400));
        break;
      default:
        continue;
    }
    count(context.faults, kind);
  }
  await ensemble.runUntil(() => ensemble.sim.now() >= end, Math.max(0, end - ensemble.sim.now()) + 1);
  void pending;
}

function fingerprint(data: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) hash = Math.imul(hash ^ data[i]!, 0x01000193);
  return `${data.length}:${(hash >>> 0).toString(16)}`;
}

export async function runSystemSim(options: SystemSimOptions): Promise<SystemSimResult> {
  const seed = options.seed;
  // The seed's own stream decides the shape of the run (swarm testing) before anything else draws.
  const shape = new SeededRandom(seed ^ 0x5eed);
  const nodes = options.nodes ?? (shape.chance(0.7) ? 3 : 5);
  const kinds = options.faultKinds ?? ALL_KINDS;
  const enabled = kinds.filter((kind) => SHAPE_KINDS.includes(kind)).filter(() => shape.chance(0.5));
  // Its own stream (see SHAPE_KINDS): one draw decides whether the adversary is on, the rest drive it.
  const adversaryRandom = new SeededRandom((seed ^ 0xad7e5a) >>> 0);
  if (kinds.includes(FaultKind.forgedFrames) && adversaryRandom.chance(0.5)) enabled.push(FaultKind.forgedFrames);
  const intensity = 0.5 + shape.next() * 2;
  const safetyMs = options.safetyMs ?? 4_000;
  const livenessMs = options.livenessMs ?? 20_000;
  const clients = options.clients ?? 4;
  const driftOn = enabled.includes("clock-drift");
  const driftRandom = shape.fork("drift");
  const drifts = new Map<string, number>();

  const violations = new Violations();
  const sessions = new SessionChecker(violations);
  const raft = new RaftChecker(violations);
  const digests = new DigestChecker(violations);
  const disableBuggify = options.buggify === false ? undefined : enableBuggify({ random: shape.fork("buggify"), seed });
  let buggifyFired: Record<string, number> = {};
  let ensemble: SystemEnsemble | undefined;
  try {
    ensemble = await SystemEnsemble.start({
      seed,
      nodes,
      config: { tickMs: 10, electionTicks: 15, heartbeatTicks: 3, minSessionTimeoutMs: 600, maxSessionTimeoutMs: 10_000, forwardRetryMs: 100, snapshotEveryEntries: 50 + shape.int(200) },
      fsyncDelayMsMax: 5,
      driftPpm: (owner) => {
        if (!driftOn) return 0;
        let drift = drifts.get(owner);
        if (drift === undefined) drifts.set(owner, (drift = driftRandom.intBetween(-20_000, 20_000)));
        return drift;
      },
      wrapStateMachine: (nodeId, factory) => {
        if (options.plantedBug === "lateEphemeralDelete") return sessions.wrap(nodeId, lateEphemeralDeletes(factory));
        if (options.plantedBug === "divergentReplica" && nodeId === "n1") return sessions.wrap(nodeId, skipOneWrite(factory));
        return sessions.wrap(nodeId, factory);
      },
      onFatal: (nodeId, error) => violations.add("crash", `${nodeId} stopped itself: ${error instanceof Error ? error.message : String(error)}`),
    });
    if (options.executorMode !== undefined) ensemble.sim.setExecutorMode(options.executorMode);
    const sim = ensemble;
    const context: Context = {
      ensemble,
      history: new HistoryRecorder(),
      resource: (() => {
        const guarded = new RecipeFencedResource<string>();
        return new FencedResource(options.plantedBug === "fencingIgnored", (token) => guarded.write(token));
      })(),
      watchLogs: [],
      violations,
      faults: {},
      linearizableReads: options.plantedBug !== "staleReads",
      stopWorkload: false,
      clientsMade: 0,
    };
    if (driftOn) count(context.faults, "clock-drift");

    // Sample the Raft and digest invariants between events, every 10 simulated ms (logs every 100).
    let nextSample = 0;
    let nextLogSample = 0;
    const checkedThrough = new Map<string, number>();
    ensemble.observer = () => {
      const now = sim.sim.now();
      if (now < nextSample) return;
      nextSample = now + 10;
      const statuses = sim.liveNodes().map((node) => node.status());
      raft.observeRoles(statuses.map((s) => ({ nodeId: s.id, role: s.role, term: s.term, commitIndex: s.commitIndex })));
      for (const status of statuses) digests.observe(status.id, status.appliedIndex, status.digest);
      if (now < nextLogSample) return;
      nextLogSample = now + 100;
      for (const status of statuses) {
        const from = checkedThrough.get(status.id) ?? 0;
        // The durable log against the durable commit index: in memory a follower may already know an
        // index is committed while its disk still holds the conflicting entry the new leader replaces.
        const durable = sim.durableLog(status.id).recovered();
        const commit = Math.min(status.commitIndex, durable.hardState?.commit ?? 0);
        if (commit <= from) continue;
        const entries = durable.entries.filter((e) => e.index > from && e.index <= commit);
        raft.observeCommitted(status.id, commit, entries.map((e) => ({ index: e.index, term: e.term, fingerprint: fingerprint(e.data) })));
        const last = entries[entries.length - 1];
        if (last !== undefined) checkedThrough.set(status.id, last.index);
      }
    };

    if (!(await ensemble.runUntil(() => sim.leader() !== undefined, 10_000))) violations.add("liveness", "no leader elected within 10 s before any fault");
    debug(`leader at ${ensemble.sim.now()}`);
    const setupClient = await runPromise(ensemble, newClient(context, "setup"), 10_000);
    const setup = setupClient === "timeout" ? undefined : setupClient;
    debug(`setup client at ${ensemble.sim.now()}`);
    if (setup === undefined) violations.add("liveness", "setup client could not connect");
    else {
      const made = Promise.all(["/set", "/eph", "/lock", "/w"].map((path) => setup.create(path, "").catch(() => undefined)));
      let settled = false;
      void made.then(() => (settled = true));
      await ensemble.runUntil(() => settled, 10_000);
      await runPromise(ensemble, setup.close(), 5_000);
    }

    // Link faults for the whole safety phase, drawn from the seed.
    const linkFaults: { drop?: number; duplicate?: number; reorder?: number; delayMsMin?: number; delayMsMax?: number } = {};
    if (enabled.includes("loss")) linkFaults.drop = shape.next() * 0.1 * intensity;
    if (enabled.includes("duplication")) linkFaults.duplicate = shape.next() * 0.1 * intensity;
    if (enabled.includes("reorder")) linkFaults.reorder = shape.next() * 0.2 * intensity;
    if (enabled.includes("delay")) {
      linkFaults.delayMsMin = 0;
      linkFaults.delayMsMax = 1 + shape.int(Math.ceil(40 * intensity));
    }
    for (const kind of ["loss", "duplication", "reorder", "delay"] as const) if (enabled.includes(kind)) count(context.faults, kind);
    if (Object.keys(linkFaults).length > 0) ensemble.fault({ kind: "set-link-faults", from: "*", to: "*", ...linkFaults });

    const workload = Array.from({ length: clients }, (_, i) => clientLoop(context, `w${i}`, shape.fork(`client-${i}`)).catch((error: unknown) => {
      violations.add("crash", `client w${i} workload threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    }));
    debug(`workload started at ${ensemble.sim.now()}`);
    const adversary = enabled.includes(FaultKind.forgedFrames) ? new Adversary(ensemble, adversaryRandom) : undefined;
    await adversary?.start();
    await injectFaults(context, enabled, shape.fork("schedule"), safetyMs, intensity);
    context.stopWorkload = true;
    if (adversary !== undefined) {
      adversary.stop();
      context.faults[FaultKind.forgedFrames] = adversary.total;
    }

    // Liveness: heal everything; replicas converge, the workload drains, a fresh client gets service within the bound.
    debug(`healing at ${ensemble.sim.now()}`);
    await ensemble.healAll();
    let drained = false;
    void Promise.all(workload).then(() => (drained = true));
    const converged = await ensemble.runUntil(() => drained && convergedNow(sim), livenessMs);
    if (!converged) {
      violations.add("liveness", `after healing: ${drained ? "" : "workload still running; "}replicas not converged within ${livenessMs} ms: ${JSON.stringify(sim.liveNodes().map((n) => { const s = n.status(); return [s.id, s.role, s.term, s.appliedIndex, s.commitIndex]; }))}`);
    } else {
      const probe = await runPromise(ensemble, newClient(context, "probe"), livenessMs);
      const ok = probe !== undefined && probe !== "timeout" && (await runPromise(ensemble, (async () => {
        await probe.setData(REGISTER_KEYS[0]!, "probe").catch((error: unknown) => {
          if (definite(error) !== "NoNode") throw error;
        });
        await probe.getData(SET_PARENT, { linearizable: true });
        await probe.close();
        return true;
      })(), livenessMs)) === true;
      if (!ok) violations.add("liveness", `a fresh client could not connect, write and read linearizably within ${livenessMs} ms after healing`);
    }
    await ensemble.runFor(10);

    let operationsChecked = checkHistories(context.history, violations);
    for (const log of context.watchLogs) operationsChecked += checkWatchLog(log, violations);
    operationsChecked += checkFencing(context.resource.log, violations);
    operationsChecked += sessions.appliesChecked + raft.entriesChecked + digests.comparisons;
    return {
      seed,
      nodes,
      ok: violations.ok,
      violations: violations.list,
      traceHash: ensemble.sim.traceHash(),
      operationsChecked,
      faults: context.faults,
      enabledKinds: enabled,
      buggifyFired: (buggifyFired = collectBuggify(disableBuggify)),
      adversary: { ...adversary?.injected },
      simulatedMs: ensemble.sim.now(),
      events: ensemble.sim.executedEvents,
      workload: {
        historyOps: context.history.size,
        unknownOps: [...context.history.registers, ...context.history.sets].filter((op) => op.return === Infinity).length,
        watchEvents: context.watchLogs.reduce((n, log) => n + log.entries.filter((e) => e.kind === "event").length, 0),
        fencedWrites: context.resource.log.length,
        clients: context.clientsMade,
        sessionsClosed: sessions.sessionsClosed,
        snapshotInstalls: sessions.snapshotInstalls,
      },
    };
  } finally {
    if (Object.keys(buggifyFired).length === 0) collectBuggify(disableBuggify);
    await ensemble?.close();
  }
}

function collectBuggify(disable: (() => { fired: ReadonlyMap<string, number> }) | undefined): Record<string, number> {
  return disable === undefined ? {} : Object.fromEntries(disable().fired);
}

function convergedNow(ensemble: SystemEnsemble): boolean {
  const statuses = ensemble.liveNodes().map((n) => n.status());
  const first = statuses[0];
  return statuses.length === ensemble.nodeIds.length && first !== undefined && statuses.every((s) => s.appliedIndex === first.appliedIndex && s.digest === first.digest && s.commitIndex === s.appliedIndex);
}

async function runPromise<T>(ensemble: SystemEnsemble, promise: Promise<T>, maxMs: number): Promise<T | "timeout" | undefined> {
  let outcome: { value: T | undefined } | undefined;
  promise.then(
    (value) => (outcome = { value }),
    () => (outcome = { value: undefined }),
  );
  await ensemble.runUntil(() => outcome !== undefined, maxMs);
  return outcome === undefined ? "timeout" : outcome.value;
}

/**
 * Planted bug for the session checker: a replica that applies a session's
 * close but leaves its ephemerals in place (they are deleted "late", never).
 */
function lateEphemeralDeletes(factory: StateMachineFactory): StateMachineFactory {
  return {
    create: () => {
      const machine = factory.create();
      return new Proxy(machine, {
        get(target, property, receiver) {
          if (property !== "apply") {
            const value: unknown = Reflect.get(target, property, receiver);
            return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          }
          return (txn: Txn, meta: { zxid: number; timeMs: number }): AppliedTxn => {
            if (txn.type !== "closeSession") return target.apply(txn, meta);
            return { result: { type: "closeSession", sessionId: txn.sessionId, deleted: [] }, closedSessions: [txn.sessionId], events: [] };
          };
        },
      });
    },
  };
}

/** Planted bug for the digest checker: this replica drops the first setData it is asked to apply. */
function skipOneWrite(factory: StateMachineFactory): StateMachineFactory {
  let skipped = false;
  return {
    create: () => {
      const machine = factory.create();
      return new Proxy(machine, {
        get(target, property, receiver) {
          if (property !== "apply") {
            const value: unknown = Reflect.get(target, property, receiver);
            return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          }
          return (txn: Txn, meta: { zxid: number; timeMs: number }): AppliedTxn => {
            if (!skipped && txn.type === "request" && txn.op.type === "setData") {
              skipped = true;
              return target.apply({ type: "noop" }, meta);
            }
            return target.apply(txn, meta);
          };
        },
      });
    },
  };
}
