// The children of one parent znode as a set of names (partitioned by parent):
// createChild -> ok | NodeExists; deleteChild -> ok | NoNode; getChildren ->
// the names, compared as a set (ZooKeeper does not order them). The parent
// itself is assumed to exist throughout.

import { UNKNOWN, type Model, type StepResult, type Unknown } from "../types.js";
import { hashString, partitionByKey } from "./common.js";

/** Sorted child names. */
export type ZnodeSetState = readonly string[];

export type ZnodeSetInput =
  | { readonly type: "createChild"; readonly parent: string; readonly name: string }
  | { readonly type: "deleteChild"; readonly parent: string; readonly name: string }
  | { readonly type: "getChildren"; readonly parent: string };

export type ZnodeSetOutput =
  | { readonly code: "ok"; readonly children?: readonly string[] }
  | { readonly code: "NodeExists" }
  | { readonly code: "NoNode" };

function search(sorted: readonly string[], name: string): { found: boolean; at: number } {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const value = sorted[middle] ?? "";
    if (value < name) low = middle + 1;
    else high = middle;
  }
  return { found: sorted[low] === name, at: low };
}

export function applyZnodeSet(state: ZnodeSetState, input: ZnodeSetInput): { output: ZnodeSetOutput; state: ZnodeSetState } {
  switch (input.type) {
    case "createChild": {
      const { found, at } = search(state, input.name);
      if (found) return { output: { code: "NodeExists" }, state };
      return { output: { code: "ok" }, state: [...state.slice(0, at), input.name, ...state.slice(at)] };
    }
    case "deleteChild": {
      const { found, at } = search(state, input.name);
      if (!found) return { output: { code: "NoNode" }, state };
      return { output: { code: "ok" }, state: [...state.slice(0, at), ...state.slice(at + 1)] };
    }
    case "getChildren":
      return { output: { code: "ok", children: state }, state };
  }
}

function sameSet(sorted: readonly string[], observed: readonly string[]): boolean {
  if (sorted.length !== observed.length) return false;
  const ordered = [...observed].sort();
  return ordered.every((name, i) => name === sorted[i]);
}

export function znodeSetModel(): Model<ZnodeSetState, ZnodeSetInput, ZnodeSetOutput> {
  return {
    name: "znode-set",
    init: () => [],
    step(state, input, output): StepResult<ZnodeSetState> {
      const applied = applyZnodeSet(state, input);
      if (output === UNKNOWN) return { ok: true, state: applied.state };
      if (output.code !== applied.output.code) return { ok: false, state: applied.state };
      if (input.type === "getChildren") {
        const observed = output.code === "ok" ? output.children : undefined;
        return { ok: observed !== undefined && sameSet(state, observed), state: applied.state };
      }
      return { ok: true, state: applied.state };
    },
    equal: (a, b) => a.length === b.length && a.every((name, i) => name === b[i]),
    hash: (state) => hashString(state.join("\u0000"), state.length),
    partition: partitionByKey((input: ZnodeSetInput) => input.parent),
    readOnly: (input) => input.type === "getChildren",
    describeOperation: describeZnodeSetOperation,
    describeState: (state) => `{${state.join(", ")}}`,
  };
}

export function describeZnodeSetOperation(input: ZnodeSetInput, output: ZnodeSetOutput | Unknown): string {
  const result =
    output === UNKNOWN ? "?" : output.code === "ok" && "children" in output && output.children ? `[${output.children.join(", ")}]` : output.code;
  switch (input.type) {
    case "createChild":
      return `createChild(${input.parent}, ${input.name}) -> ${result}`;
    case "deleteChild":
      return `deleteChild(${input.parent}, ${input.name}) -> ${result}`;
    case "getChildren":
      return `getChildren(${input.parent}) -> ${result}`;
  }
}
