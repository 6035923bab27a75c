/**
 * The workloads, run identically against every system: closed-loop clients
 * (each with `depth` requests outstanding), a warmup whose samples are
 * discarded, then `durationMs` of measurement. Latency is taken with
 * process.hrtime.bigint around each operation into a log-linear histogram.
 */
import { LatencyHistogram, type LatencySummary } from "./histogram.js";
import { CompareError, type BenchClient, type SystemDriver, type SystemName } from "./types.js";
import { sleep } from "./processes.js";

export interface WorkloadKnobs {
  /** Client sessions (for `watch`: watcher/setter pairs). */
  readonly clients: number;
  /** Outstanding requests per client (closed-loop pipelining depth). */
  readonly depth: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Payload of create, setData, mixed writes and the preloaded reads. */
  readonly payloadBytes: number;
}

export interface ThroughputResult {
  readonly kind: "throughput";
  readonly workload: WorkloadName;
  readonly system: SystemName;
  readonly clients: number;
  readonly depth: number;
  readonly payloadBytes: number;
  readonly measuredSeconds: number;
  readonly operations: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly opsPerSecond: number;
  readonly latency: LatencySummary;
}

export interface FailoverResult {
  readonly kind: "failover";
  readonly workload: "failover";
  readonly system: SystemName;
  readonly clients: number;
  readonly depth: number;
  readonly killedMember: string;
  readonly preKillOpsPerSecond: number;
  /**
   * Kill → first acknowledged write committed by the new leader (a leader term
   * above any seen before the kill; for a system that reports no term: the first
   * write issued after the kill). Null if none within the limit.
   */
  readonly firstWriteMs: number | null;
  readonly firstWriteCriterion: "new-leader-term" | "issued-after-kill";
  /** Kill → the survivors report a new leader (server side, no client involved). */
  readonly electionMs: number | null;
  /** Kill → start of the first 500 ms window at ≥ 80 % of the pre-kill rate; null if none. */
  readonly fullThroughputMs: number | null;
  readonly sessionsSurvived: number;
  readonly sessionsTotal: number;
  readonly errors: number;
  readonly firstError?: string;
  /** Write latency over the whole run, kill included. */
  readonly latency: LatencySummary;
}

export type WorkloadResult = ThroughputResult | FailoverResult;

export interface WorkloadContext {
  readonly driver: SystemDriver;
  readonly knobs: WorkloadKnobs;
  readonly progress: (line: string) => void;
}

interface LoopContext {
  readonly driver: SystemDriver;
  readonly client: BenchClient;
  readonly clientIndex: number;
  readonly loopIndex: number;
  readonly root: string;
  readonly random: () => number;
}

interface ClosedLoopWorkload {
  readonly name: WorkloadName;
  readonly description: string;
  /** Knob values this workload forces (e.g. a single-client latency run). */
  readonly fixed?: Partial<Pick<WorkloadKnobs, "clients" | "depth" | "payloadBytes">>;
  /** Runs once per loop before measurement; returns the operation the loop repeats. */
  makeLoop(context: LoopContext, payload: Uint8Array): Promise<() => Promise<unknown>>;
}

export const workloadNames = [
  "create",
  "setData",
  "setData-4KiB",
  "setData-single",
  "getData",
  "exists",
  "mixed",
  "watch",
  "lock",
  "session",
  "failover",
] as const;
export type WorkloadName = (typeof workloadNames)[number];

export const workloadDescriptions: Record<WorkloadName, string> = {
  create: "create sequential nodes (payload bytes each)",
  setData: "setData of the client's own node (payload bytes)",
  "setData-4KiB": "setData of the client's own node, 4 KiB",
  "setData-single": "setData, 1 client, depth 1: the single-client write latency",
  getData: "getData of the client's own node (system default read)",
  exists: "exists on the client's own node",
  mixed: "90 % getData / 10 % setData on the client's own node",
  watch: "watch notification: set on one session, event on another (clients = pairs, depth 1)",
  lock: "lock acquire + release, one lock per loop (uncontended)",
  session: "open a session and close it",
  failover: "writers running; kill -9 the leader; time to first write and to 80 % throughput",
};

function xorshiftRandom(seed: number): () => number {
  let state = (seed * 2654435761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

function makePayload(bytes: number): Uint8Array {
  const payload = new Uint8Array(bytes);
  for (let index = 0; index < bytes; index += 1) payload[index] = 97 + (index % 26);
  return payload;
}

const empty = new Uint8Array();

async function ensurePath(client: BenchClient, path: string): Promise<void> {
  let prefix = "";
  for (const part of path.split("/").filter((segment) => segment.length > 0)) {
    prefix = `${prefix}/${part}`;
    await client.create(prefix, empty, false);
  }
}

async function ownNode(context: LoopContext, payload: Uint8Array): Promise<string> {
  const path = `${context.root}/c${context.clientIndex}`;
  if (context.loopIndex === 0) {
    await context.client.create(path, payload, false);
    await context.client.setData(path, payload);
  }
  return path;
}

const closedLoopWorkloads: Record<Exclude<WorkloadName, "watch" | "failover">, ClosedLoopWorkload> = {
  create: {
    name: "create",
    description: workloadDescriptions.create,
    makeLoop: async (context, payload) => {
      const prefix = `${context.root}/n-`;
      return () => context.client.create(prefix, payload, true).then(() => undefined);
    },
  },
  setData: {
    name: "setData",
    description: workloadDescriptions.setData,
    makeLoop: async (context, payload) => {
      const path = await ownNode(context, payload);
      return () => context.client.setData(path, payload);
    },
  },
  "setData-4KiB": {
    name: "setData-4KiB",
    description: workloadDescriptions["setData-4KiB"],
    fixed: { payloadBytes: 4096 },
    makeLoop: async (context, payload) => {
      const path = await ownNode(context, payload);
      return () => context.client.setData(path, payload);
    },
  },
  "setData-single": {
    name: "setData-single",
    description: workloadDescriptions["setData-single"],
    fixed: { clients: 1, depth: 1 },
    makeLoop: async (context, payload) => {
      const path = await ownNode(context, payload);
      return () => context.client.setData(path, payload);
    },
  },
  getData: {
    name: "getData",
    description: workloadDescriptions.getData,
    makeLoop: async (context, payload) => {
      const path = await ownNode(context, payload);
      return () => context.client.getData(path).then(() => undefined);
    },
  },
  exists: {
    name: "exists",
    description: workloadDescriptions.exists,
    makeLoop: async (context, payload) => {
      const path = await ownNode(context, payload);
      return () => context.client.exists(path).then(() => undefined);
    },
  },
  mixed: {
    name: "mixed",
    description: workloadDescriptions.mixed,
    makeLoop: async (context, payload) => {
      const path = await ownNode(context, payload);
      return () => (context.random() < 0.9 ? context.client.getData(path).then(() => undefined) : context.client.setData(path, payload));
    },
  },
  lock: {
    name: "lock",
    description: workloadDescriptions.lock,
    makeLoop: async (context) => {
      const path = `${context.root}/l${context.clientIndex}-${context.loopIndex}`;
      if (context.client.lockCycle === undefined) throw new CompareError("BadArgument", "driver has no lock recipe");
      await context.client.create(path, empty, false);
      const lockCycle = context.client.lockCycle.bind(context.client);
      return () => lockCycle(path);
    },
  },
  session: {
    name: "session",
    description: workloadDescriptions.session,
    makeLoop: async (context) => async () => {
      const session = await context.driver.newClient();
      await session.close();
    },
  },
};

const nowNs = (): bigint => process.hrtime.bigint();
const errorRetryDelayMs = 5;

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Measurement state shared by a workload's loops. */
class Meter {
  readonly histogram = new LatencyHistogram();
  operations = 0;
  errors = 0;
  firstError: string | undefined;

  constructor(
    readonly measureFromNs: bigint,
    readonly measureUntilNs: bigint,
  ) {}

  record(startNs: bigint, endNs: bigint): void {
    if (startNs >= this.measureFromNs && endNs <= this.measureUntilNs) {
      this.operations += 1;
      this.histogram.recordNanoseconds(endNs - startNs);
    }
  }

  fail(error: unknown): void {
    this.errors += 1;
    this.firstError ??= describeError(error);
  }
}

/**
 * Repeats `operation` until `stopAtNs`; an operation still pending then is
 * abandoned (its client is closed by the caller), so a hung request cannot
 * hold the run past its deadline.
 */
async function runLoop(operation: () => Promise<unknown>, meter: Meter, stopAtNs: bigint, stopped: Promise<void>): Promise<void> {
  while (nowNs() < stopAtNs) {
    const startNs = nowNs();
    let failed = false;
    const outcome = await Promise.race([
      operation().then(() => "done" as const, (error: unknown) => {
        failed = true;
        meter.fail(error);
        return "failed" as const;
      }),
      stopped.then(() => "stopped" as const),
    ]);
    if (outcome === "stopped") return;
    if (!failed) meter.record(startNs, nowNs());
    else await sleep(errorRetryDelayMs);
  }
}

function progressTicker(context: WorkloadContext, label: string, meter: Meter, startNs: bigint, totalMs: number): () => void {
  const timer = setInterval(() => {
    const elapsedMs = Number((nowNs() - startNs) / 1_000_000n);
    const measuringMs = Number((nowNs() - meter.measureFromNs) / 1_000_000n);
    const rate = measuringMs > 0 ? Math.round((meter.operations * 1000) / measuringMs) : 0;
    const phase = measuringMs > 0 ? `${rate} ops/s p99 ${meter.histogram.summary().p99Ms} ms` : "warming up";
    context.progress(`${label} ${(elapsedMs / 1000).toFixed(0)}/${(totalMs / 1000).toFixed(0)} s  ${phase}  errors ${meter.errors}`);
  }, 1_000);
  return () => clearInterval(timer);
}

async function openClients(driver: SystemDriver, count: number): Promise<BenchClient[]> {
  const clients: BenchClient[] = [];
  try {
    for (let index = 0; index < count; index += 1) clients.push(await driver.newClient());
  } catch (error) {
    await closeAll(clients);
    throw error;
  }
  return clients;
}

async function closeAll(clients: readonly BenchClient[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
}

function effectiveKnobs(knobs: WorkloadKnobs, fixed: Partial<Pick<WorkloadKnobs, "clients" | "depth" | "payloadBytes">> | undefined): WorkloadKnobs {
  return { ...knobs, ...fixed };
}

function throughputResult(name: WorkloadName, system: SystemName, knobs: WorkloadKnobs, meter: Meter): ThroughputResult {
  const measuredSeconds = Number(meter.measureUntilNs - meter.measureFromNs) / 1e9;
  return {
    kind: "throughput",
    workload: name,
    system,
    clients: knobs.clients,
    depth: knobs.depth,
    payloadBytes: knobs.payloadBytes,
    measuredSeconds,
    operations: meter.operations,
    errors: meter.errors,
    ...(meter.firstError === undefined ? {} : { firstError: meter.firstError }),
    opsPerSecond: Math.round(meter.operations / measuredSeconds),
    latency: meter.histogram.summary(),
  };
}

async function runClosedLoop(workload: ClosedLoopWorkload, context: WorkloadContext): Promise<ThroughputResult> {
  const knobs = effectiveKnobs(context.knobs, workload.fixed);
  const payload = makePayload(knobs.payloadBytes);
  const clients = await openClients(context.driver, knobs.clients);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  try {
    const root = `/cb/${workload.name}`;
    const first = clients[0];
    if (first === undefined) throw new CompareError("BadArgument", "a workload needs at least one client");
    await ensurePath(first, root);
    const operations: Array<() => Promise<unknown>> = [];
    for (const [clientIndex, client] of clients.entries()) {
      for (let loopIndex = 0; loopIndex < knobs.depth; loopIndex += 1) {
        const loopContext = { driver: context.driver, client, clientIndex, loopIndex, root, random: xorshiftRandom(clientIndex * 1009 + loopIndex + 1) };
        operations.push(await workload.makeLoop(loopContext, payload));
      }
    }
    const startNs = nowNs();
    const measureFromNs = startNs + BigInt(knobs.warmupMs) * 1_000_000n;
    const stopAtNs = measureFromNs + BigInt(knobs.durationMs) * 1_000_000n;
    const meter = new Meter(measureFromNs, stopAtNs);
    const stopTicker = progressTicker(context, `[${context.driver.name}] ${workload.name}`, meter, startNs, knobs.warmupMs + knobs.durationMs);
    const deadline = setTimeout(stop, knobs.warmupMs + knobs.durationMs + 1_000);
    try {
      await Promise.all(operations.map((operation) => runLoop(operation, meter, stopAtNs, stopped)));
    } finally {
      clearTimeout(deadline);
      stopTicker();
      stop();
    }
    return throughputResult(workload.name, context.driver.name, knobs, meter);
  } finally {
    await closeAll(clients);
  }
}

/**
 * Watch notification latency: per pair, a watcher session registers a one-shot
 * watch, then a setter session changes the node; the sample is set issued →
 * event received on the watcher. Depth is 1 (a watch is one-shot).
 */
async function runWatch(context: WorkloadContext): Promise<ThroughputResult> {
  const knobs = effectiveKnobs(context.knobs, { depth: 1 });
  const payload = makePayload(knobs.payloadBytes);
  const watchers = await openClients(context.driver, knobs.clients);
  const setters = await openClients(context.driver, knobs.clients).catch(async (error: unknown) => {
    await closeAll(watchers);
    throw error;
  });
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  try {
    const root = "/cb/watch";
    const first = setters[0];
    if (first === undefined) throw new CompareError("BadArgument", "a workload needs at least one client");
    await ensurePath(first, root);
    const operations = await Promise.all(setters.map(async (setter, index) => {
      const watcher = watchers[index];
      if (watcher === undefined) throw new CompareError("BadArgument", "watcher missing");
      const path = `${root}/c${index}`;
      await setter.create(path, payload, false);
      return async (): Promise<void> => {
        const event = await watcher.watchOnce(path);
        await setter.setData(path, payload);
        await event();
      };
    }));
    const startNs = nowNs();
    const measureFromNs = startNs + BigInt(knobs.warmupMs) * 1_000_000n;
    const stopAtNs = measureFromNs + BigInt(knobs.durationMs) * 1_000_000n;
    const meter = new Meter(measureFromNs, stopAtNs);
    const stopTicker = progressTicker(context, `[${context.driver.name}] watch`, meter, startNs, knobs.warmupMs + knobs.durationMs);
    const deadline = setTimeout(stop, knobs.warmupMs + knobs.durationMs + 1_000);
    try {
      // The timed span starts after the watch is registered: runLoop times the
      // whole closure, so time set → event inside it instead.
      await Promise.all(operations.map((_operation, index) => {
        const watcher = watchers[index];
        const setter = setters[index];
        const path = `${root}/c${index}`;
        if (watcher === undefined || setter === undefined) throw new CompareError("BadArgument", "pair missing");
        return runWatchLoop(watcher, setter, path, payload, meter, stopAtNs, stopped);
      }));
    } finally {
      clearTimeout(deadline);
      stopTicker();
      stop();
    }
    return throughputResult("watch", context.driver.name, knobs, meter);
  } finally {
    await closeAll([...watchers, ...setters]);
  }
}

async function runWatchLoop(
  watcher: BenchClient,
  setter: BenchClient,
  path: string,
  payload: Uint8Array,
  meter: Meter,
  stopAtNs: bigint,
  stopped: Promise<void>,
): Promise<void> {
  while (nowNs() < stopAtNs) {
    try {
      const event = await watcher.watchOnce(path);
      const startNs = nowNs();
      await setter.setData(path, payload);
      const outcome = await Promise.race([event().then(() => "event" as const), stopped.then(() => "stopped" as const)]);
      if (outcome === "stopped") return;
      meter.record(startNs, nowNs());
    } catch (error) {
      meter.fail(error);
      await sleep(errorRetryDelayMs);
    }
  }
}

export interface FailoverKnobs {
  /** Steady writing before the kill (after warmup) to establish the pre-kill rate. */
  readonly preKillMs: number;
  /** Give up waiting for recovery after this long. */
  readonly maxRecoveryMs: number;
}

export const defaultFailoverKnobs: FailoverKnobs = { preKillMs: 4_000, maxRecoveryMs: 30_000 };

const bucketMs = 50;
const recoveryWindowMs = 500;
const recoveryFraction = 0.8;

/**
 * Writers (clients × depth loops of setData) run; after warmup + preKillMs the
 * leader is killed with SIGKILL. Completions are bucketed by 50 ms to find the
 * first write issued after the kill and the first 500 ms window back at 80 % of
 * the pre-kill rate. Leaves the system with a dead member: run it last.
 */
async function runFailover(context: WorkloadContext, failoverKnobs: FailoverKnobs): Promise<FailoverResult> {
  const driver = context.driver;
  if (driver.killLeader === undefined) throw new CompareError("BadArgument", `${driver.name} driver cannot kill its leader`);
  const knobs = context.knobs;
  const payload = makePayload(knobs.payloadBytes);
  const clients = await openClients(driver, knobs.clients);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  try {
    const root = "/cb/failover";
    const first = clients[0];
    if (first === undefined) throw new CompareError("BadArgument", "a workload needs at least one client");
    await ensurePath(first, root);
    const sessionIdsBefore = clients.map((client) => client.sessionId());
    const startNs = nowNs();
    const measureFromNs = startNs + BigInt(knobs.warmupMs) * 1_000_000n;
    const killAtNs = measureFromNs + BigInt(failoverKnobs.preKillMs) * 1_000_000n;
    const hardStopNs = killAtNs + BigInt(failoverKnobs.maxRecoveryMs) * 1_000_000n;
    const meter = new Meter(measureFromNs, hardStopNs + 60_000_000_000n);
    const completionBuckets: number[] = [];
    let killedAtNs: bigint | undefined;
    let firstWriteAfterKillNs: bigint | undefined;
    let highestTermBeforeKill: bigint | undefined;
    let termsReported = true;
    const operations = await Promise.all(clients.map(async (client, clientIndex) => {
      const path = `${root}/c${clientIndex}`;
      await client.create(path, payload, false);
      return async (): Promise<void> => {
        const issuedNs = nowNs();
        const term = await client.setData(path, payload);
        const doneNs = nowNs();
        if (term === undefined) termsReported = false;
        const bucket = Number((doneNs - startNs) / 1_000_000n) / bucketMs;
        const index = Math.floor(bucket);
        completionBuckets[index] = (completionBuckets[index] ?? 0) + 1;
        if (killedAtNs === undefined) {
          if (term !== undefined && (highestTermBeforeKill === undefined || term > highestTermBeforeKill)) highestTermBeforeKill = term;
        } else if (firstWriteAfterKillNs === undefined) {
          const committedByNewLeader = termsReported && term !== undefined && highestTermBeforeKill !== undefined
            ? term > highestTermBeforeKill
            : issuedNs >= killedAtNs;
          if (committedByNewLeader) firstWriteAfterKillNs = doneNs;
        }
      };
    }));
    const loops = operations.flatMap((operation) => Array.from({ length: knobs.depth }, () => operation));
    const stopTicker = progressTicker(context, `[${driver.name}] failover`, meter, startNs, knobs.warmupMs + failoverKnobs.preKillMs + failoverKnobs.maxRecoveryMs);
    let killedMember = "none";
    let electedAtNs: Promise<bigint | undefined> = Promise.resolve(undefined);
    let preKillOpsPerSecond = 0;
    let fullThroughputMs: number | null = null;
    const bucketAt = (ns: bigint): number => Math.floor(Number((ns - startNs) / 1_000_000n) / bucketMs);
    const windowBuckets = recoveryWindowMs / bucketMs;
    const findRecovery = (): number | null => {
      if (killedAtNs === undefined) return null;
      const killBucket = bucketAt(killedAtNs);
      const needed = recoveryFraction * preKillOpsPerSecond * (recoveryWindowMs / 1000);
      const lastComplete = bucketAt(nowNs()) - 1;
      let sum = 0;
      for (let index = killBucket; index <= lastComplete; index += 1) {
        sum += completionBuckets[index] ?? 0;
        if (index - windowBuckets >= killBucket) sum -= completionBuckets[index - windowBuckets] ?? 0;
        if (index - killBucket + 1 >= windowBuckets && sum >= needed) {
          const windowStartBucket = index - windowBuckets + 1;
          return Math.max(0, windowStartBucket * bucketMs - Number((killedAtNs - startNs) / 1_000_000n));
        }
      }
      return null;
    };
    const controller = (async (): Promise<void> => {
      await sleep(Number((killAtNs - nowNs()) / 1_000_000n));
      const measuredBuckets = completionBuckets.slice(bucketAt(measureFromNs), bucketAt(nowNs()));
      const preKillOperations = measuredBuckets.reduce((sum, count) => sum + (count ?? 0), 0);
      preKillOpsPerSecond = Math.round(preKillOperations / ((measuredBuckets.length * bucketMs) / 1000));
      const killed = await driver.killLeader!();
      killedAtNs = killed.killedAtNs;
      killedMember = killed.member;
      electedAtNs = killed.newLeaderElected;
      while (nowNs() < hardStopNs) {
        await sleep(100);
        fullThroughputMs = findRecovery();
        // Keep writing a little past recovery so session survival is observed under load.
        if (fullThroughputMs !== null && firstWriteAfterKillNs !== undefined) {
          await sleep(1_000);
          break;
        }
      }
      stop();
    })();
    try {
      await Promise.all([...loops.map((operation) => runLoop(operation, meter, hardStopNs, stopped)), controller]);
    } finally {
      stopTicker();
      stop();
    }
    const sessionsSurvived = clients.filter((client, index) => client.sessionAlive() && client.sessionId() === sessionIdsBefore[index]).length;
    const killedAt = killedAtNs as bigint | undefined;
    const firstWrite = firstWriteAfterKillNs as bigint | undefined;
    const elected = await electedAtNs;
    const millisecondsSinceKill = (ns: bigint | undefined): number | null =>
      killedAt !== undefined && ns !== undefined ? Math.round(Number(ns - killedAt) / 1e5) / 10 : null;
    return {
      kind: "failover",
      workload: "failover",
      system: driver.name,
      clients: knobs.clients,
      depth: knobs.depth,
      killedMember,
      preKillOpsPerSecond,
      firstWriteMs: millisecondsSinceKill(firstWrite),
      firstWriteCriterion: termsReported && highestTermBeforeKill !== undefined ? "new-leader-term" : "issued-after-kill",
      electionMs: millisecondsSinceKill(elected),
      fullThroughputMs,
      sessionsSurvived,
      sessionsTotal: clients.length,
      errors: meter.errors,
      ...(meter.firstError === undefined ? {} : { firstError: meter.firstError }),
      latency: meter.histogram.summary(),
    };
  } finally {
    await closeAll(clients);
  }
}

export async function runWorkload(name: WorkloadName, context: WorkloadContext, failoverKnobs: FailoverKnobs = defaultFailoverKnobs): Promise<WorkloadResult> {
  if (name === "watch") return runWatch(context);
  if (name === "failover") return runFailover(context, failoverKnobs);
  return runClosedLoop(closedLoopWorkloads[name], context);
}

export function parseWorkloadNames(list: string): WorkloadName[] {
  const names = list.split(",").map((name) => name.trim()).filter((name) => name.length > 0);
  for (const name of names) {
    if (!(workloadNames as readonly string[]).includes(name)) {
      throw new CompareError("UnknownWorkload", `unknown workload ${name}; known: ${workloadNames.join(", ")}`);
    }
  }
  // Failover leaves a member dead, so it always runs last.
  return [...names.filter((name) => name !== "failover"), ...names.filter((name) => name === "failover")] as WorkloadName[];
}
