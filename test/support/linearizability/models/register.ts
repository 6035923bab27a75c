// A register per key with ZooKeeper versions (a znode that always exists):
// read -> {value, version}; write(value) -> {version} (setData with version -1);
// cas(expectedVersion, value) -> ok {version} | BadVersion (setData with a version).
// Each successful write increments the version by one.

import { UNKNOWN, type Model, type StepResult, type Unknown } from "../types.js";
import { hashString, partitionByKey } from "./common.js";

export interface RegisterState {
  readonly value: string;
  readonly version: number;
}

export type RegisterInput =
  | { readonly type: "read"; readonly key: string }
  | { readonly type: "write"; readonly key: string; readonly value: string }
  | { readonly type: "cas"; readonly key: string; readonly expectedVersion: number; readonly value: string };

/** read: `{ code: "ok", value, version }`; write and cas: `{ code: "ok", version }` (the new version). */
export type RegisterOutput = { readonly code: "ok"; readonly value?: string; readonly version: number } | { readonly code: "BadVersion" };

export function applyRegister(state: RegisterState, input: RegisterInput): { output: RegisterOutput; state: RegisterState } {
  switch (input.type) {
    case "read":
      return { output: { code: "ok", value: state.value, version: state.version }, state };
    case "write": {
      const version = state.version + 1;
      return { output: { code: "ok", version }, state: { value: input.value, version } };
    }
    case "cas": {
      if (input.expectedVersion !== state.version) return { output: { code: "BadVersion" }, state };
      const version = state.version + 1;
      return { output: { code: "ok", version }, state: { value: input.value, version } };
    }
  }
}

export interface RegisterModelOptions {
  /** Value of every key before the history, at version 0 (default ""). */
  readonly initialValue?: string;
}

export function registerModel(options: RegisterModelOptions = {}): Model<RegisterState, RegisterInput, RegisterOutput> {
  const initial: RegisterState = { value: options.initialValue ?? "", version: 0 };
  return {
    name: "register",
    init: () => initial,
    step(state, input, output): StepResult<RegisterState> {
      const applied = applyRegister(state, input);
      if (output === UNKNOWN) return { ok: true, state: applied.state };
      const expected = applied.output;
      let ok = expected.code === output.code;
      if (ok && expected.code === "ok" && output.code === "ok") {
        ok = expected.version === output.version && (input.type !== "read" || expected.value === output.value);
      }
      return { ok, state: applied.state };
    },
    equal: (a, b) => a.version === b.version && a.value === b.value,
    hash: (state) => hashString(state.value, state.version),
    partition: partitionByKey((input: RegisterInput) => input.key),
    readOnly: (input) => input.type === "read",
    describeOperation: describeRegisterOperation,
    describeState: (state) => `{value: ${JSON.stringify(state.value)}, version: ${state.version}}`,
  };
}

export function describeRegisterOperation(input: RegisterInput, output: RegisterOutput | Unknown): string {
  const result =
    output === UNKNOWN
      ? "?"
      : output.code !== "ok"
        ? output.code
        : output.value !== undefined
          ? `{value: ${JSON.stringify(output.value)}, version: ${output.version}}`
          : `ok {version: ${output.version}}`;
  switch (input.type) {
    case "read":
      return `read(${input.key}) -> ${result}`;
    case "write":
      return `write(${input.key}, ${JSON.stringify(input.value)}) -> ${result}`;
    case "cas":
      return `cas(${input.key}, v${input.expectedVersion}, ${JSON.stringify(input.value)}) -> ${result}`;
  }
}
