// Reference stores and random inputs for the self-tests. The references are
// written independently of the models (plain Maps), so a model bug and a
// generator bug are unlikely to cancel out.

import type { RegisterInput, RegisterOutput } from "../models/register.js";
import type { ZnodeInput, ZnodeOutput } from "../models/znode-register.js";
import type { ZnodeSetInput, ZnodeSetOutput } from "../models/znode-set.js";
import { generateHistory, type GeneratedOperation } from "./generate.js";
import type { TestRandom } from "./random.js";

export interface Shape {
  readonly clients: number;
  readonly operationsPerClient: number;
  readonly keys: number;
  readonly unknownProbability: number;
  readonly maxDuration?: number;
  readonly maxGap?: number;
}

export class RegisterStore {
  /** Per key, the value written at each version (version 0 is the initial ""). */
  readonly valuesByVersion = new Map<string, string[]>();
  /** Writes issued per key, to aim compare-and-set at plausible versions. */
  readonly issued = new Map<string, number>();

  versions(key: string): string[] {
    let values = this.valuesByVersion.get(key);
    if (values === undefined) {
      values = [""];
      this.valuesByVersion.set(key, values);
    }
    return values;
  }
}

export function registerHistory(random: TestRandom, shape: Shape): { history: GeneratedOperation<RegisterInput, RegisterOutput>[]; store: RegisterStore } {
  const store = new RegisterStore();
  const history = generateHistory<RegisterStore, RegisterInput, RegisterOutput>({
    random,
    clients: shape.clients,
    operationsPerClient: shape.operationsPerClient,
    maxDuration: shape.maxDuration ?? 10,
    maxGap: shape.maxGap ?? 5,
    unknownProbability: shape.unknownProbability,
    store,
    randomInput(r, clientId, sequence): RegisterInput {
      const key = `k${r.int(0, shape.keys - 1)}`;
      const roll = r.next();
      if (roll < 0.4) return { type: "read", key };
      const value = `c${clientId}s${sequence}`;
      const issued = store.issued.get(key) ?? 0;
      store.issued.set(key, issued + 1);
      if (roll < 0.7) return { type: "write", key, value };
      return { type: "cas", key, expectedVersion: Math.max(0, issued - r.int(0, 3)), value };
    },
    apply(s, input): RegisterOutput {
      const values = s.versions(input.key);
      const version = values.length - 1;
      if (input.type === "read") return { code: "ok", value: values[version] ?? "", version };
      if (input.type === "cas" && input.expectedVersion !== version) return { code: "BadVersion" };
      values.push(input.value);
      return { code: "ok", version: version + 1 };
    },
  });
  return { history, store };
}

type ZnodeRecord = { data: string; version: number } | undefined;

export function znodeHistory(random: TestRandom, shape: Shape): GeneratedOperation<ZnodeInput, ZnodeOutput>[] {
  const store = new Map<string, ZnodeRecord>();
  return generateHistory<Map<string, ZnodeRecord>, ZnodeInput, ZnodeOutput>({
    random,
    clients: shape.clients,
    operationsPerClient: shape.operationsPerClient,
    maxDuration: shape.maxDuration ?? 10,
    maxGap: shape.maxGap ?? 5,
    unknownProbability: shape.unknownProbability,
    store,
    randomInput(r, clientId, sequence): ZnodeInput {
      const path = `/n${r.int(0, shape.keys - 1)}`;
      const data = `c${clientId}s${sequence}`;
      const version = r.chance(0.5) ? -1 : r.int(0, 3);
      switch (r.int(0, 4)) {
        case 0:
          return { type: "create", path, data };
        case 1:
          return { type: "delete", path, version };
        case 2:
          return { type: "setData", path, data, version };
        case 3:
          return { type: "getData", path };
        default:
          return { type: "exists", path };
      }
    },
    apply(s, input): ZnodeOutput {
      const node = s.get(input.path);
      const versionMatches = (wanted: number): boolean => node !== undefined && (wanted === -1 || wanted === node.version);
      switch (input.type) {
        case "create":
          if (node !== undefined) return { code: "NodeExists" };
          s.set(input.path, { data: input.data, version: 0 });
          return { code: "ok" };
        case "delete":
          if (node === undefined) return { code: "NoNode" };
          if (!versionMatches(input.version)) return { code: "BadVersion" };
          s.set(input.path, undefined);
          return { code: "ok" };
        case "setData":
          if (node === undefined) return { code: "NoNode" };
          if (!versionMatches(input.version)) return { code: "BadVersion" };
          s.set(input.path, { data: input.data, version: node.version + 1 });
          return { code: "ok", version: node.version + 1 };
        case "getData":
          return node === undefined ? { code: "NoNode" } : { code: "ok", data: node.data, version: node.version };
        case "exists":
          return node === undefined ? { code: "NoNode" } : { code: "ok", version: node.version };
      }
    },
  });
}

export function znodeSetHistory(random: TestRandom, shape: Shape & { readonly names: number }): GeneratedOperation<ZnodeSetInput, ZnodeSetOutput>[] {
  const store = new Map<string, Set<string>>();
  return generateHistory<Map<string, Set<string>>, ZnodeSetInput, ZnodeSetOutput>({
    random,
    clients: shape.clients,
    operationsPerClient: shape.operationsPerClient,
    maxDuration: shape.maxDuration ?? 10,
    maxGap: shape.maxGap ?? 5,
    unknownProbability: shape.unknownProbability,
    store,
    randomInput(r): ZnodeSetInput {
      const parent = `/p${r.int(0, shape.keys - 1)}`;
      const name = `n${r.int(0, shape.names - 1)}`;
      const roll = r.next();
      if (roll < 0.4) return { type: "createChild", parent, name };
      if (roll < 0.7) return { type: "deleteChild", parent, name };
      return { type: "getChildren", parent };
    },
    apply(s, input): ZnodeSetOutput {
      let children = s.get(input.parent);
      if (children === undefined) {
        children = new Set();
        s.set(input.parent, children);
      }
      switch (input.type) {
        case "createChild":
          if (children.has(input.name)) return { code: "NodeExists" };
          children.add(input.name);
          return { code: "ok" };
        case "deleteChild":
          if (!children.delete(input.name)) return { code: "NoNode" };
          return { code: "ok" };
        case "getChildren":
          // Reverse-sorted on purpose: the model must compare children as a set.
          return { code: "ok", children: [...children].sort().reverse() };
      }
    },
  });
}
