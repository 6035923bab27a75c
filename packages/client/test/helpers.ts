import type { SimEnsemble, SimEnsembleOptions } from "../../../test/support/sim-ensemble.js";
import { createSimEnsemble } from "../../../test/support/sim-ensemble.js";
import { CorralClient, type ClientOptions } from "../src/index.js";

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Run simulated time until `promise` settles (or `maxMs` pass); returns its outcome. */
export async function settle<T>(ensemble: SimEnsemble, promise: Promise<T>, maxMs = 30_000): Promise<Outcome<T>> {
  let outcome: Outcome<T> | undefined;
  promise.then(
    (value) => {
      outcome = { ok: true, value };
    },
    (error: unknown) => {
      outcome = { ok: false, error };
    },
  );
  await ensemble.runUntil(() => outcome !== undefined, maxMs);
  if (outcome === undefined) throw new Error(`not settled within ${maxMs} simulated ms`);
  return outcome;
}

/** The value, or throw the error. */
export async function run<T>(ensemble: SimEnsemble, promise: Promise<T>, maxMs = 30_000): Promise<T> {
  const outcome = await settle(ensemble, promise, maxMs);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(ensemble: SimEnsemble, promise: Promise<unknown>, maxMs = 30_000): Promise<unknown> {
  const outcome = await settle(ensemble, promise, maxMs);
  if (outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  return outcome.error;
}

export async function ensembleWithLeader(options: SimEnsembleOptions): Promise<SimEnsemble> {
  const ensemble = await createSimEnsemble(options);
  await ensemble.waitForLeader();
  return ensemble;
}

export async function newClient(ensemble: SimEnsemble, label: string, options: Partial<ClientOptions> = {}): Promise<CorralClient> {
  return run(ensemble, CorralClient.connectWith(ensemble.clientEnv(label), { nodes: ensemble.nodeIds, sessionTimeoutMs: 6_000, ...options }));
}

/** A node id other than `id` that is running. */
export function otherNode(ensemble: SimEnsemble, id: string): string {
  const other = ensemble.nodeIds.find((n) => n !== id && ensemble.node(n) !== undefined);
  if (other === undefined) throw new Error("no other node");
  return other;
}
