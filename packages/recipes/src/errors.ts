/**
 * Typed failures of the recipes. Server failures keep their protocol classes
 * (NoNodeError, SessionExpiredError ...); these are the recipes' own outcomes.
 */

/** A wait (acquire, leadership, barrier, decision, take ...) did not finish within its timeout. */
export class RecipeTimeout extends Error {
  readonly _tag = "RecipeTimeout" as const;
  readonly code = "RECIPE_TIMEOUT" as const;
  constructor(readonly what: string, readonly timeoutMs: number) {
    super(`${what}: not done within ${timeoutMs} ms`);
    this.name = "RecipeTimeout";
  }
}

/** The caller's AbortSignal fired. */
export class RecipeAborted extends Error {
  readonly _tag = "RecipeAborted" as const;
  readonly code = "RECIPE_ABORTED" as const;
  constructor(readonly what: string, options?: { cause?: unknown }) {
    super(`${what}: aborted`, options);
    this.name = "RecipeAborted";
  }
}

/** The recipe was closed while the call was waiting, or called after close(). */
export class RecipeClosed extends Error {
  readonly _tag = "RecipeClosed" as const;
  readonly code = "RECIPE_CLOSED" as const;
  constructor(readonly what: string) {
    super(`${what}: closed`);
    this.name = "RecipeClosed";
  }
}

/** release() of a lock/lease this instance does not hold. */
export class NotHeld extends Error {
  readonly _tag = "NotHeld" as const;
  readonly code = "NOT_HELD" as const;
  constructor(readonly what: string) {
    super(`${what}: not held by this instance`);
    this.name = "NotHeld";
  }
}

/** The session holding a lock, lease, leadership or registration was lost. */
export class SessionLost extends Error {
  readonly _tag = "SessionLost" as const;
  readonly code = "SESSION_LOST" as const;
  constructor(readonly what: string, options?: { cause?: unknown }) {
    super(`${what}: the session was lost`, options);
    this.name = "SessionLost";
  }
}

/** A bounded retry loop (compare-and-set, create recovery, delete) gave up. */
export class RetriesExhausted extends Error {
  readonly _tag = "RetriesExhausted" as const;
  readonly code = "RETRIES_EXHAUSTED" as const;
  constructor(readonly what: string, readonly attempts: number, options?: { cause?: unknown }) {
    super(`${what}: gave up after ${attempts} attempts`, options);
    this.name = "RetriesExhausted";
  }
}

/** A write's outcome is unknown and cannot be safely retried (e.g. a counter increment). */
export class OutcomeUnknown extends Error {
  readonly _tag = "OutcomeUnknown" as const;
  readonly code = "OUTCOME_UNKNOWN" as const;
  constructor(readonly what: string, options?: { cause?: unknown }) {
    super(`${what}: the outcome is unknown`, options);
    this.name = "OutcomeUnknown";
  }
}

/** Bad input to a recipe; nothing was changed. */
export class InvalidRecipeArgument extends Error {
  readonly _tag = "InvalidRecipeArgument" as const;
  readonly code = "INVALID_RECIPE_ARGUMENT" as const;
  constructor(readonly argument: string, reason: string) {
    super(`${argument}: ${reason}`);
    this.name = "InvalidRecipeArgument";
  }
}

/** A limit (queue size, cache size, batch size) was hit. */
export class RecipeLimitExceeded extends Error {
  readonly _tag = "RecipeLimitExceeded" as const;
  readonly code = "RECIPE_LIMIT_EXCEEDED" as const;
  constructor(readonly limit: string, readonly value: number) {
    super(`${limit} exceeded (${value})`);
    this.name = "RecipeLimitExceeded";
  }
}

/** A znode the recipe owns holds data it cannot parse (someone else wrote there). */
export class CorruptRecipeData extends Error {
  readonly _tag = "CorruptRecipeData" as const;
  readonly code = "CORRUPT_RECIPE_DATA" as const;
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "CorruptRecipeData";
  }
}

/** A recipe invariant broke: crash rather than act on a corrupt view. */
export class RecipeInvariantViolation extends Error {
  readonly _tag = "RecipeInvariantViolation" as const;
  readonly code = "RECIPE_INVARIANT_VIOLATION" as const;
  constructor(message: string) {
    super(message);
    this.name = "RecipeInvariantViolation";
  }
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RecipeInvariantViolation(message);
}

export type RecipeError =
  | RecipeTimeout
  | RecipeAborted
  | RecipeClosed
  | NotHeld
  | SessionLost
  | RetriesExhausted
  | OutcomeUnknown
  | InvalidRecipeArgument
  | RecipeLimitExceeded
  | CorruptRecipeData
  | RecipeInvariantViolation;
