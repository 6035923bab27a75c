/**
 * Helpers for running recipes on the simulated Corral ensemble (real nodes,
 * real client, one seed) and the checkers that judge them. Each checker is a
 * pure function of a recorded history returning its violations, so a test
 * can show it passes on the real recipe and fails on a planted bug.
 */
import { CorralClient } from "@corral/client";
import { createSimEnsemble, type SimEnsemble, type SimEnsembleOptions } from "../../../test/support/sim-ensemble.js";
import { ManagedSessions, type RecipeEnv } from "../src/index.js";

export type { SimEnsemble };

/** A session timeout short enough to expire inside a test, long enough to survive a leader change. */
export const SESSION_TIMEOUT_MS = 2_000;

export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Run the ensemble until `promise` settles; returns its outcome (never throws the promise's error). */
export async function outcome<T>(ensemble: SimEnsemble, promise: Promise<T>, maxMs = 60_000): Promise<Settled<T>> {
  let result: Settled<T> | undefined;
  promise.then(
    (value) => (result = { ok: true, value }),
    (error: unknown) => (result = { ok: false, error }),
  );
  await ensemble.runUntil(() => result !== undefined, maxMs);
  if (result === undefined) throw new Error(`not settled within ${maxMs} simulated ms`);
  return result;
}

/** Run the ensemble until `promise` settles; its value, or its error thrown. */
export async function settle<T>(ensemble: SimEnsemble, promise: Promise<T>, maxMs = 60_000): Promise<T> {
  const result = await outcome(ensemble, promise, maxMs);
  if (!result.ok) throw result.error;
  return result.value;
}

/** Start an ensemble, wait for its leader, run `body`, always close. */
export async function withEnsemble<T>(options: SimEnsembleOptions, body: (ensemble: SimEnsemble) => Promise<T>): Promise<T> {
  const ensemble = await createSimEnsemble(options);
  try {
    await ensemble.waitForLeader();
    return await body(ensemble);
  } finally {
    await ensemble.close();
  }
}

export function recipeEnv(ensemble: SimEnsemble, label: string): RecipeEnv {
  const e = ensemble.clientEnv(`recipe:${label}`);
  return { clock: e.clock, random: e.random };
}

const counters = new WeakMap<SimEnsemble, Map<string, number>>();

/** A fresh endpoint id per call for `label` ("c-<label>-<n>"), so a test can partition that client by id. */
function endpointId(ensemble: SimEnsemble, label: string): string {
  let byLabel = counters.get(ensemble);
  if (byLabel === undefined) counters.set(ensemble, (byLabel = new Map()));
  const n = (byLabel.get(label) ?? 0) + 1;
  byLabel.set(label, n);
  return `c-${label}-${n}`;
}

export interface SimClientOptions {
  readonly sessionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Restrict the nodes this client may use (to pin it behind a partition). */
  readonly nodes?: readonly string[];
}

/** Open a real client on the simulated network (the promise needs the ensemble to run: use settle or openClient). */
export function connectClient(ensemble: SimEnsemble, label: string, options: SimClientOptions = {}): Promise<CorralClient> {
  return CorralClient.connectWith(
    ensemble.clientEnv(`${label}:${endpointId(ensemble, `env-${label}`)}`),
    { nodes: options.nodes ?? ensemble.nodeIds, sessionTimeoutMs: options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS, requestTimeoutMs: options.requestTimeoutMs ?? 8_000, connectTimeoutMs: 30_000 },
    { clientId: endpointId(ensemble, label) },
  );
}

export function openClient(ensemble: SimEnsemble, label: string, options: SimClientOptions = {}): Promise<CorralClient> {
  return settle(ensemble, connectClient(ensemble, label, options));
}

/** ManagedSessions whose factory opens a new simulated client (new endpoint id) after each expiry. */
export async function openManaged(ensemble: SimEnsemble, label: string, options: SimClientOptions = {}): Promise<ManagedSessions> {
  return settle(ensemble, ManagedSessions.start(() => connectClient(ensemble, label, options), recipeEnv(ensemble, `sessions:${label}`)));
}

/** The endpoint id of a session source's current client. */
export function clientIdOf(sessions: ManagedSessions | CorralClient): string {
  const client = sessions instanceof CorralClient ? sessions : sessions.current();
  if (!(client instanceof CorralClient)) throw new Error("not a CorralClient");
  return client.clientId;
}

/** Cut these client endpoints off from every node (other clients keep their links). */
export function isolateClients(ensemble: SimEnsemble, clientIds: readonly string[]): void {
  ensemble.partition([[...clientIds], [...ensemble.nodeIds]]);
}

/** Run until the client reports `expired` after being isolated past its session timeout, then heal. */
export async function expireByIsolation(ensemble: SimEnsemble, client: CorralClient, maxMs = 30_000): Promise<void> {
  isolateClients(ensemble, [client.clientId]);
  // The leader expires the session only after its timeout with no pings; then the client learns it on reconnect.
  await ensemble.runFor(client.sessionTimeoutMs * 3);
  ensemble.heal();
  const expired = await ensemble.runUntil(() => client.state === "expired", maxMs);
  if (!expired) throw new Error(`client ${client.clientId} is ${client.state}, expected expired`);
}

/** Wait `ms` of simulated time on the recipe's clock (a critical section's duration, not synchronisation). */
export function pause(env: RecipeEnv, ms: number): Promise<void> {
  return new Promise((resolve) => env.clock.setTimer(ms, resolve));
}

// ------------------------------------------------------------------ checkers --

/** Who held what, when (simulated ms), for overlap checks. */
export interface HoldInterval {
  readonly who: string;
  readonly kind: "read" | "write" | "exclusive";
  readonly fromMs: number;
  /** Undefined while still held. */
  toMs?: number;
}

/**
 * Records critical sections as intervals and checks: no write overlaps any
 * other hold; no exclusive overlaps another exclusive; at most `maxHolders`
 * simultaneous holders (Semaphore).
 */
export class HoldRecorder {
  readonly intervals: HoldInterval[] = [];
  private inside = new Set<HoldInterval>();
  maxConcurrent = 0;
  readonly violations: string[] = [];

  constructor(private readonly now: () => number) {}

  enter(who: string, kind: HoldInterval["kind"]): HoldInterval {
    const interval: HoldInterval = { who, kind, fromMs: this.now() };
    for (const other of this.inside) {
      const conflict = kind === "write" || other.kind === "write" || (kind === "exclusive" && other.kind === "exclusive");
      if (conflict) this.violations.push(`${who} (${kind}) entered at ${interval.fromMs} while ${other.who} (${other.kind}) held since ${other.fromMs}`);
    }
    this.inside.add(interval);
    this.intervals.push(interval);
    this.maxConcurrent = Math.max(this.maxConcurrent, this.inside.size);
    return interval;
  }

  exit(interval: HoldInterval): void {
    interval.toMs = this.now();
    this.inside.delete(interval);
  }
}

/** Per fencing token, the distinct candidates that were leader with it: a violation is a token with two. */
export class LeaderRecorder {
  private readonly byToken = new Map<number, Set<string>>();
  readonly terms: { readonly who: string; readonly token: number }[] = [];
  record(who: string, token: number): void {
    const set = this.byToken.get(token) ?? new Set<string>();
    set.add(who);
    this.byToken.set(token, set);
    this.terms.push({ who, token });
  }
  violations(): string[] {
    return [...this.byToken].filter(([, who]) => who.size > 1).map(([token, who]) => `token ${token} led by ${[...who].join(", ")}`);
  }
}

/**
 * FIFO queue checker: every item put is taken exactly once, and each consumer
 * sees items in the order they were put (per producer). `unknownPuts` may be
 * taken zero or one time (a put whose reply was lost).
 */
export function checkQueueHistory(put: readonly string[], takenByConsumer: ReadonlyMap<string, readonly string[]>, unknownPuts: readonly string[] = []): string[] {
  const violations: string[] = [];
  const counts = new Map<string, number>();
  for (const taken of takenByConsumer.values()) for (const item of taken) counts.set(item, (counts.get(item) ?? 0) + 1);
  for (const item of put) {
    const n = counts.get(item) ?? 0;
    if (n === 0) violations.push(`lost ${item}`);
    if (n > 1) violations.push(`duplicated ${item} (${n} times)`);
  }
  const known = new Set([...put, ...unknownPuts]);
  for (const [item, n] of counts) {
    if (!known.has(item)) violations.push(`took ${item}, never put`);
    else if (n > 1 && !put.includes(item)) violations.push(`duplicated ${item} (${n} times)`);
  }
  const order = new Map(put.map((item, i) => [item, i]));
  for (const [consumer, taken] of takenByConsumer) {
    let last = -1;
    for (const item of taken) {
      const index = order.get(item);
      if (index === undefined) continue;
      if (index < last) violations.push(`${consumer} took ${item} after a later item`);
      last = Math.max(last, index);
    }
  }
  return violations;
}

/** Transaction agreement: every participant's decision equals the recorded decision; commit needs all-yes votes. */
export function checkAgreement(decisions: ReadonlyMap<string, string>, votes: ReadonlyMap<string, boolean>, recorded: string | undefined): string[] {
  const violations: string[] = [];
  const distinct = new Set(decisions.values());
  if (distinct.size > 1) violations.push(`participants disagree: ${[...decisions].map(([p, d]) => `${p}=${d}`).join(", ")}`);
  for (const [p, d] of decisions) if (recorded !== undefined && d !== recorded) violations.push(`${p} decided ${d}, the tree says ${recorded}`);
  const all = recorded ?? [...distinct][0];
  if (all === "commit" && [...votes.values()].some((yes) => !yes)) violations.push("committed although someone voted no");
  return violations;
}
