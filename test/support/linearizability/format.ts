// Human-readable reports of check results.

import { checkOperations, type CheckOptions } from "./checker.js";
import { LinearizabilityError, UNKNOWN, type CheckResult, type Counterexample, type Model, type Operation, type Unknown } from "./types.js";

export interface FormatOptions {
  /** How many of the last prefix steps to show (the prefix may hold thousands). Default 20. */
  readonly maxPrefixSteps?: number;
}

function describe<State, Input, Output>(model: Model<State, Input, Output> | undefined, input: Input, output: Output | Unknown): string {
  if (model?.describeOperation) return model.describeOperation(input, output);
  return `${safeJson(input)} -> ${output === UNKNOWN ? "?" : safeJson(output)}`;
}

function describeState<State, Input, Output>(model: Model<State, Input, Output> | undefined, state: State): string {
  return model?.describeState ? model.describeState(state) : safeJson(state);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? `${v}n` : v)) ?? String(value);
  } catch (_error) {
    return String(value);
  }
}

function interval(operation: Operation<unknown, unknown>): string {
  return `[${operation.call}, ${operation.return === Infinity ? "∞" : operation.return}]`;
}

/** A multi-line explanation of why a partition is not linearizable. Pass the model for readable operations. */
export function formatCounterexample<State, Input, Output>(
  counterexample: Counterexample<State, Input, Output>,
  model?: Model<State, Input, Output>,
  options: FormatOptions = {},
): string {
  const maxPrefixSteps = options.maxPrefixSteps ?? 20;
  const { prefix, stuck } = counterexample;
  const lines: string[] = [];
  lines.push(`Not linearizable (${counterexample.modelName}), partition ${counterexample.partitionIndex} of ${counterexample.partitionSize} operations.`);
  lines.push(`Longest linearizable prefix: ${prefix.length} operations${prefix.length > maxPrefixSteps ? `, last ${maxPrefixSteps} shown` : ""}:`);
  const shown = prefix.slice(Math.max(0, prefix.length - maxPrefixSteps));
  const firstShown = prefix.length - shown.length;
  shown.forEach((step, i) => {
    lines.push(
      `  ${String(firstShown + i + 1).padStart(5)}. #${step.index} client ${String(step.operation.clientId)} ${interval(step.operation)} ` +
        `${describe(model, step.operation.input, step.operation.output)}  => ${describeState(model, step.stateAfter)}`,
    );
  });
  lines.push(`State after the prefix: ${describeState(model, counterexample.stateAfterPrefix)}`);
  lines.push(
    `Could not linearize #${stuck.index} client ${String(stuck.operation.clientId)} ${interval(stuck.operation)} ` +
      `${describe(model, stuck.operation.input, stuck.operation.output)} before it returned.`,
  );
  const others = counterexample.candidates.filter((candidate) => candidate.index !== stuck.index);
  if (others.length > 0) {
    lines.push("Other operations that could have come next:");
    for (const candidate of others) {
      lines.push(
        `  #${candidate.index} client ${String(candidate.operation.clientId)} ${interval(candidate.operation)} ` +
          describe(model, candidate.operation.input, candidate.operation.output),
      );
    }
  }
  return lines.join("\n");
}

/** One line for ok/unknown, the counterexample for illegal. */
export function formatResult<State, Input, Output>(result: CheckResult<State, Input, Output>, model?: Model<State, Input, Output>, options: FormatOptions = {}): string {
  const summary =
    `${result.modelName}: ${result.result}; ${result.operations} operations in ${result.partitions} partitions, ` +
    `${result.partitionsChecked} checked, ${result.steps} steps` +
    (result.droppedOperations > 0 ? `, ${result.droppedOperations} unknown-outcome reads dropped` : "") +
    (result.budgetExhausted !== undefined ? `; budget exhausted (${result.budgetExhausted}) in partition ${result.unknownPartitionIndex ?? "?"}: treat as failure` : "");
  if (result.counterexample === undefined) return summary;
  return `${summary}\n${formatCounterexample(result.counterexample, model, options)}`;
}

/** Checks and throws LinearizabilityError (with a readable report) unless the result is "ok". */
export function assertLinearizable<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly Operation<Input, Output>[],
  options: CheckOptions & FormatOptions = {},
): CheckResult<State, Input, Output> {
  const result = checkOperations(model, history, options);
  if (result.result === "ok") return result;
  throw new LinearizabilityError(result.result === "illegal" ? "Illegal" : "Unknown", formatResult(result, model, options));
}
