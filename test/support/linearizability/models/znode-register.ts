// One znode as a register (partitioned by path): absent, or present with data
// and a version. ZooKeeper semantics: create makes version 0, every setData
// increments the version, version -1 in setData/delete matches any version.

import { UNKNOWN, type Model, type StepResult, type Unknown } from "../types.js";
import { hashString, partitionByKey } from "./common.js";

export type ZnodeState = { readonly exists: false } | { readonly exists: true; readonly data: string; readonly version: number };

export type ZnodeInput =
  | { readonly type: "create"; readonly path: string; readonly data: string }
  | { readonly type: "delete"; readonly path: string; readonly version: number }
  | { readonly type: "setData"; readonly path: string; readonly data: string; readonly version: number }
  | { readonly type: "getData"; readonly path: string }
  | { readonly type: "exists"; readonly path: string };

export type ZnodeErrorCode = "NoNode" | "NodeExists" | "BadVersion";

/**
 * create/delete ok: `{ code: "ok" }`; setData ok: `{ code: "ok", version }` (the
 * new stat.version); getData ok: `{ code: "ok", data, version }`; exists ok:
 * `{ code: "ok", version }`. Fields the operation does not define are ignored.
 */
export type ZnodeOutput = { readonly code: "ok"; readonly data?: string; readonly version?: number } | { readonly code: ZnodeErrorCode };

export const anyVersion = -1;

const absent: ZnodeState = { exists: false };

/** The sequential semantics: the result and next state of one operation. */
export function applyZnode(state: ZnodeState, input: ZnodeInput): { output: ZnodeOutput; state: ZnodeState } {
  switch (input.type) {
    case "create":
      if (state.exists) return { output: { code: "NodeExists" }, state };
      return { output: { code: "ok" }, state: { exists: true, data: input.data, version: 0 } };
    case "delete":
      if (!state.exists) return { output: { code: "NoNode" }, state };
      if (input.version !== anyVersion && input.version !== state.version) return { output: { code: "BadVersion" }, state };
      return { output: { code: "ok" }, state: absent };
    case "setData": {
      if (!state.exists) return { output: { code: "NoNode" }, state };
      if (input.version !== anyVersion && input.version !== state.version) return { output: { code: "BadVersion" }, state };
      const version = state.version + 1;
      return { output: { code: "ok", version }, state: { exists: true, data: input.data, version } };
    }
    case "getData":
      if (!state.exists) return { output: { code: "NoNode" }, state };
      return { output: { code: "ok", data: state.data, version: state.version }, state };
    case "exists":
      if (!state.exists) return { output: { code: "NoNode" }, state };
      return { output: { code: "ok", version: state.version }, state };
  }
}

function matches(expected: ZnodeOutput, observed: ZnodeOutput): boolean {
  if (expected.code !== observed.code) return false;
  if (expected.code !== "ok" || observed.code !== "ok") return true;
  if (expected.data !== undefined && expected.data !== observed.data) return false;
  if (expected.version !== undefined && expected.version !== observed.version) return false;
  return true;
}

export interface ZnodeRegisterModelOptions {
  /** State of every path before the history (default: absent). */
  readonly initial?: ZnodeState;
}

export function znodeRegisterModel(options: ZnodeRegisterModelOptions = {}): Model<ZnodeState, ZnodeInput, ZnodeOutput> {
  const initial = options.initial ?? absent;
  return {
    name: "znode-register",
    init: () => initial,
    step(state, input, output): StepResult<ZnodeState> {
      const applied = applyZnode(state, input);
      if (output === UNKNOWN) return { ok: true, state: applied.state };
      return { ok: matches(applied.output, output), state: applied.state };
    },
    equal: (a, b) => a.exists === b.exists && (!a.exists || (b.exists && a.data === b.data && a.version === b.version)),
    hash: (state) => (state.exists ? hashString(state.data, state.version + 1) : 0),
    partition: partitionByKey((input: ZnodeInput) => input.path),
    readOnly: (input) => input.type === "getData" || input.type === "exists",
    describeOperation: describeZnodeOperation,
    describeState: (state) => (state.exists ? `{data: ${JSON.stringify(state.data)}, version: ${state.version}}` : "absent"),
  };
}

export function describeZnodeOperation(input: ZnodeInput, output: ZnodeOutput | Unknown): string {
  const result = output === UNKNOWN ? "?" : describeZnodeOutput(output);
  switch (input.type) {
    case "create":
      return `create(${input.path}, ${JSON.stringify(input.data)}) -> ${result}`;
    case "delete":
      return `delete(${input.path}, v${input.version}) -> ${result}`;
    case "setData":
      return `setData(${input.path}, ${JSON.stringify(input.data)}, v${input.version}) -> ${result}`;
    case "getData":
      return `getData(${input.path}) -> ${result}`;
    case "exists":
      return `exists(${input.path}) -> ${result}`;
  }
}

function describeZnodeOutput(output: ZnodeOutput): string {
  if (output.code !== "ok") return output.code;
  const parts: string[] = [];
  if (output.data !== undefined) parts.push(`data ${JSON.stringify(output.data)}`);
  if (output.version !== undefined) parts.push(`version ${output.version}`);
  return parts.length === 0 ? "ok" : `ok {${parts.join(", ")}}`;
}
