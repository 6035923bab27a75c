// Types shared by the linearizability checker and its models. Pure TypeScript:
// no Corral imports, so simulation, chaos and unit tests can all use it.

/**
 * The output of an operation whose outcome the client never learned (timeout,
 * connection loss, client crash). A model's `step` must accept it with any
 * legal effect of the input; the checker may also place such an operation
 * after everything else, which stands for "never took effect".
 */
export const UNKNOWN: unique symbol = Symbol("linearizability.unknown-output");
export type Unknown = typeof UNKNOWN;

/**
 * One client operation. `call` and `return` are times on one clock (any unit;
 * only their order matters). Operations whose intervals overlap are concurrent;
 * equal times count as overlapping (a call at t and a return at t may be in
 * either order).
 *
 * An operation with unknown outcome has `return: Infinity` and `output: UNKNOWN`:
 * it may or may not have taken effect, at any time after its call. A finite
 * `return` with `output: UNKNOWN` means "it completed by `return`, but its
 * result was not observed" (it did take effect, with some legal output).
 */
export interface Operation<Input, Output> {
  readonly clientId: number | string;
  readonly input: Input;
  readonly output: Output | Unknown;
  readonly call: number;
  readonly return: number;
}

/** What one sequential step of the specification says about an operation. */
export interface StepResult<State> {
  readonly ok: boolean;
  /** The state after the operation (only meaningful when `ok`). */
  readonly state: State;
}

/**
 * A sequential specification. States must be treated as immutable: `step`
 * returns a new state and never mutates its argument (the checker keeps old
 * states for backtracking and in its cache).
 */
export interface Model<State, Input, Output> {
  readonly name: string;
  init(): State;
  /**
   * Applies `input` to `state`; `ok` is false when `output` could not have been
   * produced from `state`. With `output === UNKNOWN`, return `ok: true` and the
   * state in which the operation took effect (with whatever output it would have
   * had, failures included): "never took effect" is covered by the checker
   * placing the operation last, which needs `ok: true` from any state.
   */
  step(state: State, input: Input, output: Output | Unknown): StepResult<State>;
  /** Structural equality of states (the state cache relies on it). */
  equal(a: State, b: State): boolean;
  /** Optional hash consistent with `equal`; speeds up the state cache. */
  hash?(state: State): number;
  /**
   * P-compositionality: split a history into independent sub-histories (e.g. by
   * key) that are checked separately. The history is linearizable iff every part is.
   * Without it the whole history is one partition.
   */
  partition?(history: readonly Operation<Input, Output>[]): readonly (readonly Operation<Input, Output>[])[];
  /**
   * True if the input never changes the state. Read-only operations with unknown
   * outcome and infinite return constrain nothing, so the checker drops them.
   */
  readOnly?(input: Input): boolean;
  describeOperation?(input: Input, output: Output | Unknown): string;
  describeState?(state: State): string;
}

/** Limits on one check. Expiry yields `result: "unknown"`, which callers must treat as a failure. */
export interface CheckBudget {
  /** Maximum iterations of the search loop over all partitions (deterministic). Default 10,000,000. */
  readonly maxSteps?: number;
  /** Wall-clock limit over all partitions; not deterministic. Default: none. */
  readonly timeoutMs?: number;
  /** Clock for `timeoutMs`, in ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Maximum entries in the state cache of one partition (memory bound). Default 5,000,000. */
  readonly maxCacheEntries?: number;
}

export interface LinearizedStep<State, Input, Output> {
  readonly operation: Operation<Input, Output>;
  /** Index of the operation in the history given to the checker. */
  readonly index: number;
  readonly stateAfter: State;
}

/**
 * The deepest point the search reached in the failing partition: a
 * linearizable prefix, and the operation whose return came before it could be
 * linearized after any extension of that prefix.
 */
export interface Counterexample<State, Input, Output> {
  readonly modelName: string;
  readonly partitionIndex: number;
  /** Size of the failing partition. */
  readonly partitionSize: number;
  readonly prefix: readonly LinearizedStep<State, Input, Output>[];
  readonly stateAfterPrefix: State;
  readonly stuck: { readonly operation: Operation<Input, Output>; readonly index: number };
  /**
   * Operations not in the prefix whose call precedes the stuck operation's
   * return: the candidates that could have come next (the stuck one included).
   */
  readonly candidates: readonly { readonly operation: Operation<Input, Output>; readonly index: number }[];
}

export type CheckVerdict = "ok" | "illegal" | "unknown";

export interface CheckResult<State, Input, Output> {
  /** "unknown" means the budget ran out: treat it as a failure. */
  readonly result: CheckVerdict;
  readonly modelName: string;
  readonly operations: number;
  readonly partitions: number;
  /** Partitions whose check finished (ok or illegal). */
  readonly partitionsChecked: number;
  /** Search-loop iterations used. */
  readonly steps: number;
  /** Unknown-outcome read-only operations dropped before the search. */
  readonly droppedOperations: number;
  readonly counterexample?: Counterexample<State, Input, Output>;
  /** Set when result is "unknown". */
  readonly budgetExhausted?: "steps" | "time" | "cache";
  /** Partition being checked when the budget ran out. */
  readonly unknownPartitionIndex?: number;
}

/** A history given to the checker was malformed (not a linearizability failure). */
export class InvalidHistoryError extends Error {
  readonly _tag = "InvalidHistoryError";
  readonly code: "BadTime" | "ReturnBeforeCall" | "KnownOutputWithoutReturn" | "DuplicateCall" | "ReturnWithoutCall" | "BadPartition";
  readonly index: number;
  constructor(code: InvalidHistoryError["code"], index: number, message: string) {
    super(`invalid history (${code}) at ${index}: ${message}`);
    this.code = code;
    this.index = index;
  }
}

/** Thrown by `assertLinearizable` when a check is "illegal" or "unknown". */
export class LinearizabilityError extends Error {
  readonly _tag = "LinearizabilityError";
  readonly code: "Illegal" | "Unknown";
  readonly report: string;
  constructor(code: "Illegal" | "Unknown", report: string) {
    super(report);
    this.code = code;
    this.report = report;
  }
}
