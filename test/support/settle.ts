import type { SimEnsemble } from "./sim-ensemble.js";

/** Run the simulation until `promise` settles (bounded by `maxMs` of simulated time); its value, or its error thrown. */
export async function settle<T>(ensemble: SimEnsemble, promise: Promise<T>, maxMs = 10_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await ensemble.runUntil(() => outcome !== undefined, maxMs);
  if (outcome === undefined) throw new Error(`did not settle within ${maxMs} simulated ms`);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
