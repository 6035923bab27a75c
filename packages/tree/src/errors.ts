/** Failures of the tree itself (not of the operations it applies, which are results). */

/** A broken internal invariant: crash rather than let replicas diverge. */
export class TreeInvariantViolation extends Error {
  readonly _tag = "TreeInvariantViolation" as const;
  readonly code = "TREE_INVARIANT_VIOLATION" as const;
  constructor(message: string) {
    super(message);
    this.name = "TreeInvariantViolation";
  }
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new TreeInvariantViolation(message);
}

/** Snapshot bytes that cannot be restored (truncated, corrupt, wrong version, digest mismatch). */
export class SnapshotError extends Error {
  readonly _tag = "SnapshotError" as const;
  readonly code = "SNAPSHOT_INVALID" as const;
  constructor(readonly reason: string) {
    super(`snapshot cannot be restored: ${reason}`);
    this.name = "SnapshotError";
  }
}
