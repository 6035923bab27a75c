import type { DataTree, ReapCandidate } from "./data-tree.js";

/**
 * Containers that had children and now have none, and TTL nodes without
 * children whose mtime + ttl < now. The leader proposes a `reap` txn for each;
 * the txn re-checks the condition when applied, so a stale candidate is harmless.
 */
export function findReapable(tree: DataTree, nowMs: number): ReapCandidate[] {
  return tree.findReapable(nowMs);
}
