import { SimScheduler } from "@corral/actors";
import type { RecipeEnv } from "../src/index.js";
import { FakeEnsemble } from "./fake-client.js";

export interface FakeWorld {
  readonly sim: SimScheduler;
  readonly zk: FakeEnsemble;
  env(label: string): RecipeEnv;
}

export function fakeWorld(seed = 1): FakeWorld {
  const sim = new SimScheduler(seed);
  const zk = new FakeEnsemble(sim.clockFor("zk"));
  return { sim, zk, env: (label) => ({ clock: sim.clockFor(label), random: sim.random.fork(label) }) };
}

/** Let every pending microtask (and fake event delivery) run. */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Track a promise's outcome without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly outcome: () => Outcome<T> | undefined } {
  let outcome: Outcome<T> | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  return { outcome: () => outcome };
}

/** Run microtasks and simulated timers until `promise` settles or `maxMs` of simulated time pass. */
export async function settle<T>(world: FakeWorld, promise: Promise<T>, maxMs = 60_000): Promise<Outcome<T>> {
  const tracked = track(promise);
  await runUntil(world, () => tracked.outcome() !== undefined, maxMs);
  const outcome = tracked.outcome();
  if (outcome === undefined) throw new Error(`not settled within ${maxMs} simulated ms`);
  return outcome;
}

export async function run<T>(world: FakeWorld, promise: Promise<T>, maxMs = 60_000): Promise<T> {
  const outcome = await settle(world, promise, maxMs);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export async function failure(world: FakeWorld, promise: Promise<unknown>, maxMs = 60_000): Promise<unknown> {
  const outcome = await settle(world, promise, maxMs);
  if (outcome.ok) throw new Error("expected a failure");
  return outcome.error;
}

/** Step simulated time until `predicate` holds; microtasks run to quiescence between events. */
export async function runUntil(world: FakeWorld, predicate: () => boolean, maxMs = 60_000): Promise<boolean> {
  const until = world.sim.now() + maxMs;
  for (let i = 0; i < 1_000_000; i++) {
    await drain();
    if (predicate()) return true;
    if (world.sim.pendingEvents === 0 || world.sim.now() > until) return predicate();
    world.sim.step();
  }
  return predicate();
}

export async function runFor(world: FakeWorld, ms: number): Promise<void> {
  const until = world.sim.now() + ms;
  world.sim.after(ms, "runFor", () => undefined);
  await runUntil(world, () => world.sim.now() >= until, ms + 1);
}
