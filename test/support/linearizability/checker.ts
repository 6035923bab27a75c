// Wing & Gong / Lowe (WGL) linearizability checking, after Porcupine
// (anishathalye/porcupine checker.go): call and return events in one doubly
// linked list; the search linearizes the first call whose step is legal and
// whose (linearized set, state) pair is not cached, lifting its call and
// return out of the list; meeting a return entry means that operation could
// not be linearized in time, so the search backtracks (unlifts the last
// linearized call). Iterative, with an explicit stack: histories may have
// 100k operations. Each partition of a P-compositional model is checked alone.

import { LinearizedSet } from "./bitset.js";
import type { BitsetSnapshot } from "./bitset.js";
import {
  InvalidHistoryError,
  UNKNOWN,
  type CheckBudget,
  type CheckResult,
  type Counterexample,
  type LinearizedStep,
  type Model,
  type Operation,
  type Unknown,
} from "./types.js";

export type CheckOptions = CheckBudget;

export const defaultMaxSteps = 10_000_000;
export const defaultMaxCacheEntries = 5_000_000;
const timeCheckIntervalSteps = 4096;

/** Checks a history against a model. Never throws for illegal histories; throws InvalidHistoryError for malformed ones. */
export function checkOperations<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<State, Input, Output> {
  history.forEach(validateOperation);
  const indexOf = new Map<Operation<Input, Output>, number>();
  history.forEach((operation, index) => {
    if (indexOf.has(operation)) throw new InvalidHistoryError("BadPartition", index, "the same operation object appears twice");
    indexOf.set(operation, index);
  });
  const partitions = model.partition ? model.partition(history) : [history];
  checkPartitionsCoverHistory(partitions, indexOf, history.length);

  const budget = new Budget(options);
  let steps = 0;
  let droppedOperations = 0;
  let partitionsChecked = 0;
  const base = { modelName: model.name, operations: history.length, partitions: partitions.length };

  for (let partitionIndex = 0; partitionIndex < partitions.length; partitionIndex++) {
    const partition = partitions[partitionIndex] ?? [];
    const kept = partition.filter(
      (operation) => !(operation.return === Infinity && model.readOnly !== undefined && model.readOnly(operation.input)),
    );
    droppedOperations += partition.length - kept.length;
    const outcome = checkPartition(model, kept, budget);
    steps = budget.steps;
    if (outcome.kind === "exhausted") {
      return { ...base, result: "unknown", partitionsChecked, steps, droppedOperations, budgetExhausted: outcome.reason, unknownPartitionIndex: partitionIndex };
    }
    partitionsChecked++;
    if (outcome.kind === "illegal") {
      const counterexample = buildCounterexample(model, kept, indexOf, partitionIndex, outcome);
      return { ...base, result: "illegal", partitionsChecked, steps, droppedOperations, counterexample };
    }
  }
  return { ...base, result: "ok", partitionsChecked, steps, droppedOperations };
}

/** A call or return, in real-time order; the event-list form of a history. */
export type HistoryEvent<Input, Output> =
  | { readonly kind: "call"; readonly id: number | string; readonly clientId: number | string; readonly input: Input }
  | { readonly kind: "return"; readonly id: number | string; readonly output: Output | Unknown };

/**
 * Converts events to operations, using event positions as times. A call with
 * no return becomes an unknown-outcome operation (return = Infinity).
 */
export function historyFromEvents<Input, Output>(events: readonly HistoryEvent<Input, Output>[]): Operation<Input, Output>[] {
  const open = new Map<number | string, { clientId: number | string; input: Input; call: number; slot: number }>();
  const seen = new Set<number | string>();
  const slots: (Operation<Input, Output> | undefined)[] = [];
  events.forEach((event, position) => {
    if (event.kind === "call") {
      if (seen.has(event.id)) throw new InvalidHistoryError("DuplicateCall", position, `call id ${String(event.id)} used twice`);
      seen.add(event.id);
      open.set(event.id, { clientId: event.clientId, input: event.input, call: position, slot: slots.length });
      slots.push(undefined);
    } else {
      const call = open.get(event.id);
      if (call === undefined) throw new InvalidHistoryError("ReturnWithoutCall", position, `return for id ${String(event.id)} without an open call`);
      open.delete(event.id);
      slots[call.slot] = { clientId: call.clientId, input: call.input, output: event.output, call: call.call, return: position };
    }
  });
  for (const call of open.values()) {
    slots[call.slot] = { clientId: call.clientId, input: call.input, output: UNKNOWN, call: call.call, return: Infinity };
  }
  return slots.map((operation) => {
    if (operation === undefined) throw new Error("historyFromEvents invariant: unfilled slot");
    return operation;
  });
}

export function checkEvents<State, Input, Output>(
  model: Model<State, Input, Output>,
  events: readonly HistoryEvent<Input, Output>[],
  options: CheckOptions = {},
): CheckResult<State, Input, Output> {
  return checkOperations(model, historyFromEvents(events), options);
}

function validateOperation<Input, Output>(operation: Operation<Input, Output>, index: number): void {
  if (!Number.isFinite(operation.call)) throw new InvalidHistoryError("BadTime", index, `call time ${operation.call} is not finite`);
  if (Number.isNaN(operation.return)) throw new InvalidHistoryError("BadTime", index, "return time is NaN");
  if (operation.return < operation.call) throw new InvalidHistoryError("ReturnBeforeCall", index, `return ${operation.return} < call ${operation.call}`);
  if (operation.return === Infinity && operation.output !== UNKNOWN) {
    throw new InvalidHistoryError("KnownOutputWithoutReturn", index, "an operation with return = Infinity must have output UNKNOWN");
  }
}

function checkPartitionsCoverHistory<Input, Output>(
  partitions: readonly (readonly Operation<Input, Output>[])[],
  indexOf: ReadonlyMap<Operation<Input, Output>, number>,
  size: number,
): void {
  // A partition function that loses or invents operations would silently weaken the check.
  const seen = new Uint8Array(size);
  for (const partition of partitions) {
    for (const operation of partition) {
      const index = indexOf.get(operation);
      if (index === undefined) throw new InvalidHistoryError("BadPartition", -1, "partition returned an operation not in the history");
      if (seen[index] === 1) throw new InvalidHistoryError("BadPartition", index, "operation is in two partitions");
      seen[index] = 1;
    }
  }
  const missing = seen.indexOf(0);
  if (missing !== -1) throw new InvalidHistoryError("BadPartition", missing, "operation is in no partition");
}

class Budget {
  steps = 0;
  readonly maxSteps: number;
  readonly maxCacheEntries: number;
  private readonly deadline: number;
  private readonly now: () => number;

  constructor(options: CheckBudget) {
    this.maxSteps = options.maxSteps ?? defaultMaxSteps;
    this.maxCacheEntries = options.maxCacheEntries ?? defaultMaxCacheEntries;
    this.now = options.now ?? (() => performance.now());
    this.deadline = options.timeoutMs === undefined ? Infinity : this.now() + options.timeoutMs;
  }

  /** Counts one step; returns why the budget is exhausted, or undefined. */
  spend(): "steps" | "time" | undefined {
    this.steps++;
    if (this.steps > this.maxSteps) return "steps";
    if (this.deadline !== Infinity && this.steps % timeCheckIntervalSteps === 0 && this.now() > this.deadline) return "time";
    return undefined;
  }
}

interface IllegalOutcome<State> {
  readonly kind: "illegal";
  /** Partition-local operation positions, in linearization order. */
  readonly prefix: readonly number[];
  readonly stateAfterPrefix: State;
  readonly stuck: number;
  readonly candidates: readonly number[];
}

type PartitionOutcome<State> = { readonly kind: "ok" } | IllegalOutcome<State> | { readonly kind: "exhausted"; readonly reason: "steps" | "time" | "cache" };

interface CacheEntry<State> {
  readonly linearized: BitsetSnapshot;
  readonly state: State;
}

const noEntry = -1;

function checkPartition<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  budget: Budget,
): PartitionOutcome<State> {
  const size = operations.length;
  if (size === 0) return { kind: "ok" };

  // Events sorted by time; at equal times calls come first (touching intervals
  // count as concurrent), then by position in the history (determinism).
  const order = new Int32Array(2 * size);
  for (let i = 0; i < size; i++) {
    order[2 * i] = 2 * i; // call of operation i
    order[2 * i + 1] = 2 * i + 1; // return of operation i
  }
  const timeOf = (event: number): number => {
    const operation = operations[event >> 1];
    if (operation === undefined) throw new Error("checker invariant: event out of range");
    return (event & 1) === 0 ? operation.call : operation.return;
  };
  order.sort((a, b) => {
    const ta = timeOf(a);
    const tb = timeOf(b);
    if (ta !== tb) return ta < tb ? -1 : 1;
    const kindA = a & 1;
    const kindB = b & 1;
    if (kindA !== kindB) return kindA - kindB;
    return a - b;
  });

  // Entry 0 is the list head; event order[k] is entry k + 1. Operation ids
  // (bit positions) follow call order, which keeps cached bitsets compact.
  const entryCount = 2 * size + 1;
  const next = new Int32Array(entryCount);
  const previous = new Int32Array(entryCount);
  const matchOf = new Int32Array(entryCount).fill(noEntry); // call entry -> its return entry
  const idOf = new Int32Array(entryCount).fill(noEntry);
  const operationOfId = new Int32Array(size); // id -> position in `operations`
  const callEntryOfOperation = new Int32Array(size);
  let nextId = 0;
  for (let k = 0; k < order.length; k++) {
    const event = order[k] ?? 0;
    const entry = k + 1;
    const operationPosition = event >> 1;
    previous[entry] = entry - 1;
    next[entry] = entry + 1 < entryCount ? entry + 1 : noEntry;
    if ((event & 1) === 0) {
      operationOfId[nextId] = operationPosition;
      idOf[entry] = nextId++;
      callEntryOfOperation[operationPosition] = entry;
    } else {
      const callEntry = callEntryOfOperation[operationPosition] ?? 0;
      matchOf[callEntry] = entry;
      idOf[entry] = idOf[callEntry] ?? noEntry;
    }
  }
  next[0] = 1;
  previous[0] = noEntry;

  const lift = (entry: number): void => {
    const match = matchOf[entry] ?? noEntry;
    next[previous[entry] ?? 0] = next[entry] ?? noEntry;
    previous[next[entry] ?? 0] = previous[entry] ?? 0;
    next[previous[match] ?? 0] = next[match] ?? noEntry;
    const afterMatch = next[match] ?? noEntry;
    if (afterMatch !== noEntry) previous[afterMatch] = previous[match] ?? 0;
  };
  const unlift = (entry: number): void => {
    const match = matchOf[entry] ?? noEntry;
    next[previous[match] ?? 0] = match;
    const afterMatch = next[match] ?? noEntry;
    if (afterMatch !== noEntry) previous[afterMatch] = match;
    next[previous[entry] ?? 0] = entry;
    previous[next[entry] ?? 0] = entry;
  };

  const operationOfEntry = (entry: number): Operation<Input, Output> => {
    const operation = operations[operationOfId[idOf[entry] ?? 0] ?? 0];
    if (operation === undefined) throw new Error("checker invariant: entry without operation");
    return operation;
  };

  const linearized = new LinearizedSet(size);
  const cache = new Map<number, CacheEntry<State>[]>();
  let cacheEntries = 0;
  const stackEntries = new Int32Array(size);
  const stackStates: State[] = [];
  let depth = 0;
  let state = model.init();
  // The deepest backtrack point so far, for the counterexample. Copying the
  // whole stack at each new maximum would be quadratic, so only the part that
  // changed since the last record (above the lowest depth popped to) is copied.
  const bestEntries = new Int32Array(size);
  let bestDepth = -1;
  let bestLowWater = 0;
  let best: Omit<IllegalOutcome<State>, "prefix"> | undefined;
  let entry = next[0] ?? noEntry;

  while ((next[0] ?? noEntry) !== noEntry) {
    const exhausted = budget.spend();
    if (exhausted !== undefined) return { kind: "exhausted", reason: exhausted };
    if (entry === noEntry) throw new Error("checker invariant: ran off the end of the entry list");
    const match = matchOf[entry] ?? noEntry;
    if (match !== noEntry) {
      // A call entry: try to linearize this operation now.
      const operation = operationOfEntry(entry);
      const stepped = model.step(state, operation.input, operation.output);
      if (stepped.ok) {
        const id = idOf[entry] ?? 0;
        linearized.set(id);
        const key = (linearized.hash ^ Math.imul(model.hash ? model.hash(stepped.state) : 0, 0x27d4eb2d)) >>> 0;
        let bucket = cache.get(key);
        let cached = false;
        if (bucket !== undefined) {
          for (const cachedEntry of bucket) {
            if (linearized.equals(cachedEntry.linearized) && model.equal(cachedEntry.state, stepped.state)) {
              cached = true;
              break;
            }
          }
        }
        if (!cached) {
          if (cacheEntries >= budget.maxCacheEntries) return { kind: "exhausted", reason: "cache" };
          if (bucket === undefined) {
            bucket = [];
            cache.set(key, bucket);
          }
          bucket.push({ linearized: linearized.snapshot(), state: stepped.state });
          cacheEntries++;
          stackEntries[depth] = entry;
          stackStates[depth] = state;
          depth++;
          state = stepped.state;
          lift(entry);
          entry = next[0] ?? noEntry;
          continue;
        }
        linearized.clear(id);
      }
      entry = next[entry] ?? noEntry;
    } else {
      // A return entry: its operation had to be linearized by now. Backtrack.
      if (depth > bestDepth) {
        bestEntries.set(stackEntries.subarray(bestLowWater, depth), bestLowWater);
        bestDepth = depth;
        bestLowWater = depth;
        best = describeDeepest(entry, state);
      }
      if (depth === 0) {
        if (best === undefined) throw new Error("checker invariant: failure without a recorded point");
        return { ...best, prefix: Array.from(bestEntries.subarray(0, bestDepth), (e) => operationOfId[idOf[e] ?? 0] ?? 0) };
      }
      depth--;
      if (depth < bestLowWater) bestLowWater = depth;
      const restored = stackStates[depth];
      if (restored === undefined) throw new Error("checker invariant: empty state stack");
      state = restored;
      stackStates.length = depth;
      entry = stackEntries[depth] ?? noEntry;
      linearized.clear(idOf[entry] ?? 0);
      unlift(entry);
      entry = next[entry] ?? noEntry;
    }
  }
  return { kind: "ok" };

  /** The deepest point without its prefix (that is taken from bestEntries when the search fails). */
  function describeDeepest(returnEntry: number, stateAfterPrefix: State): Omit<IllegalOutcome<State>, "prefix"> {
    const candidates: number[] = [];
    for (let e = next[0] ?? noEntry; e !== returnEntry && e !== noEntry; e = next[e] ?? noEntry) {
      if ((matchOf[e] ?? noEntry) !== noEntry) candidates.push(operationOfId[idOf[e] ?? 0] ?? 0);
    }
    const stuck = operationOfId[idOf[returnEntry] ?? 0] ?? 0;
    return { kind: "illegal", stateAfterPrefix, stuck, candidates };
  }
}

function buildCounterexample<State, Input, Output>(
  model: Model<State, Input, Output>,
  operations: readonly Operation<Input, Output>[],
  indexOf: ReadonlyMap<Operation<Input, Output>, number>,
  partitionIndex: number,
  outcome: IllegalOutcome<State>,
): Counterexample<State, Input, Output> {
  const at = (position: number): { operation: Operation<Input, Output>; index: number } => {
    const operation = operations[position];
    if (operation === undefined) throw new Error("checker invariant: counterexample position out of range");
    return { operation, index: indexOf.get(operation) ?? -1 };
  };
  // Replay the prefix to show the state after each step (the model is deterministic).
  let state = model.init();
  const prefix: LinearizedStep<State, Input, Output>[] = outcome.prefix.map((position) => {
    const { operation, index } = at(position);
    const stepped = model.step(state, operation.input, operation.output);
    if (!stepped.ok) throw new Error("checker invariant: counterexample prefix does not replay");
    state = stepped.state;
    return { operation, index, stateAfter: state };
  });
  return {
    modelName: model.name,
    partitionIndex,
    partitionSize: operations.length,
    prefix,
    stateAfterPrefix: outcome.stateAfterPrefix,
    stuck: at(outcome.stuck),
    candidates: outcome.candidates.map(at),
  };
}
