/**
 * Client histories (call/return on the simulated clock) for the
 * linearizability checker: znode registers for data keys, a znode set for the
 * children of one parent. An operation whose outcome the client never learned
 * (timeout, connection loss, session expiry) returns at +Infinity with an
 * UNKNOWN output. A search that runs out of budget is a failure, as the
 * checker's README demands.
 */
import {
  UNKNOWN,
  checkOperations,
  formatResult,
  znodeRegisterModel,
  znodeSetModel,
  type Operation,
  type ZnodeInput,
  type ZnodeOutput,
  type ZnodeSetInput,
  type ZnodeSetOutput,
} from "../../support/linearizability/index.js";
import type { Violations } from "./violation.js";

type Pending = { kind: "register"; op: Mutable<ZnodeInput, ZnodeOutput> } | { kind: "set"; op: Mutable<ZnodeSetInput, ZnodeSetOutput> };
interface Mutable<I, O> {
  clientId: string;
  input: I;
  output: O | typeof UNKNOWN;
  call: number;
  return: number;
}

export interface HistoryHandle {
  readonly pending: Pending;
}

export class HistoryRecorder {
  readonly registers: Mutable<ZnodeInput, ZnodeOutput>[] = [];
  readonly sets: Mutable<ZnodeSetInput, ZnodeSetOutput>[] = [];

  callRegister(clientId: string, input: ZnodeInput, nowMs: number): (output: ZnodeOutput | typeof UNKNOWN, nowMs: number) => void {
    const op: Mutable<ZnodeInput, ZnodeOutput> = { clientId, input, output: UNKNOWN, call: nowMs, return: Infinity };
    this.registers.push(op);
    return (output, at) => complete(op, output, at);
  }

  callSet(clientId: string, input: ZnodeSetInput, nowMs: number): (output: ZnodeSetOutput | typeof UNKNOWN, nowMs: number) => void {
    const op: Mutable<ZnodeSetInput, ZnodeSetOutput> = { clientId, input, output: UNKNOWN, call: nowMs, return: Infinity };
    this.sets.push(op);
    return (output, at) => complete(op, output, at);
  }

  get size(): number {
    return this.registers.length + this.sets.length;
  }
}

function complete<I, O>(op: Mutable<I, O>, output: O | typeof UNKNOWN, nowMs: number): void {
  op.output = output;
  // Unknown outcome: it may have taken effect at any later time, or never.
  op.return = output === UNKNOWN ? Infinity : Math.max(nowMs, op.call);
}

export interface HistoryCheckOptions {
  readonly maxSteps?: number;
}

/** Check both histories; returns the number of operations checked. */
export function checkHistories(recorder: HistoryRecorder, violations: Violations, options: HistoryCheckOptions = {}): number {
  const maxSteps = options.maxSteps ?? 2_000_000;
  const registerModel = znodeRegisterModel();
  const registers = checkOperations(registerModel, recorder.registers as Operation<ZnodeInput, ZnodeOutput>[], { maxSteps });
  if (registers.result !== "ok") violations.add("linearizability", formatResult(registers, registerModel));
  const setModel = znodeSetModel();
  const sets = checkOperations(setModel, recorder.sets as Operation<ZnodeSetInput, ZnodeSetOutput>[], { maxSteps });
  if (sets.result !== "ok") violations.add("linearizability", formatResult(sets, setModel));
  return recorder.size;
}
