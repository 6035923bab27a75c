// Helpers shared by the bundled models.

import type { Operation } from "../types.js";

/** FNV-1a over a string: a cheap state hash for the checker's cache. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A `partition` function grouping operations by key (P-compositionality: a
 * history of independent objects is linearizable iff each object's is).
 * Partitions come out in order of the key's first appearance (deterministic).
 */
export function partitionByKey<Input, Output>(
  keyOf: (input: Input) => string,
): (history: readonly Operation<Input, Output>[]) => Operation<Input, Output>[][] {
  return (history) => {
    const byKey = new Map<string, Operation<Input, Output>[]>();
    for (const operation of history) {
      const key = keyOf(operation.input);
      let part = byKey.get(key);
      if (part === undefined) {
        part = [];
        byKey.set(key, part);
      }
      part.push(operation);
    }
    return [...byKey.values()];
  };
}
