/**
 * Where session secrets come from. Live: the operating system's CSPRNG
 * (crypto.randomBytes). Simulation: the run's seeded Random, so a run replays
 * from its seed; such secrets are predictable and for tests only.
 */
import { randomBytes } from "node:crypto";
import type { Random } from "@corral/actors";

/** n random bytes. */
export type Entropy = (bytes: number) => Uint8Array;

/** The OS's CSPRNG: what a live node uses. */
export const osEntropy: Entropy = (bytes) => new Uint8Array(randomBytes(bytes));

/** Deterministic bytes from a seeded Random (simulation and tests only: predictable by design). */
export function entropyFromRandom(random: Random): Entropy {
  return (bytes) => {
    const out = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) out[i] = random.int(256);
    return out;
  };
}
