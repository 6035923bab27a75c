// Random valid histories must pass; provably illegal mutations of them must fail.

import { describe, expect, it } from "vitest";
import {
  UNKNOWN,
  checkOperations,
  formatResult,
  registerModel,
  znodeRegisterModel,
  znodeSetModel,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
  type ZnodeSetInput,
  type ZnodeSetOutput,
} from "./index.js";
import { TestRandom } from "./testing/random.js";
import { registerHistory, znodeHistory, znodeSetHistory } from "./testing/workloads.js";

type RegisterOp = Operation<RegisterInput, RegisterOutput>;
const register = registerModel();
const seeds = Array.from({ length: 150 }, (_, i) => 1000 + i);

const isKnownRead = (op: RegisterOp): boolean => op.input.type === "read" && op.output !== UNKNOWN && op.return !== Infinity;
/** A write or compare-and-set acknowledged as successful, with its new version. */
const acknowledgedVersion = (op: RegisterOp): number | undefined =>
  op.input.type !== "read" && op.output !== UNKNOWN && op.output.code === "ok" ? op.output.version : undefined;

function replaced<T>(history: readonly T[], index: number, operation: T): T[] {
  const copy = [...history];
  copy[index] = operation;
  return copy;
}

describe("random valid histories pass", () => {
  it("register histories (3 keys, 5 clients, 10% unknown outcomes)", () => {
    for (const seed of seeds) {
      const { history } = registerHistory(new TestRandom(seed), { clients: 5, operationsPerClient: 20, keys: 3, unknownProbability: 0.1 });
      const result = checkOperations(register, history);
      expect(result.result, `seed ${seed}: ${formatResult(result, register)}`).toBe("ok");
    }
  });

  // Pending unknown-outcome writes multiply the configurations to search (every
  // subset may have taken effect), so this stays small; see README "Limits".
  it("register histories on one hot key with heavy overlap and 25% unknown outcomes", () => {
    for (const seed of seeds.slice(0, 40)) {
      const shape = { clients: 6, operationsPerClient: 10, keys: 1, unknownProbability: 0.25, maxDuration: 30, maxGap: 2 };
      const { history } = registerHistory(new TestRandom(seed), shape);
      const result = checkOperations(register, history);
      expect(result.result, `seed ${seed}: ${formatResult(result, register)}`).toBe("ok");
    }
  });

  it("znode histories (create/delete/setData/getData/exists)", () => {
    const model = znodeRegisterModel();
    for (const seed of seeds) {
      const history = znodeHistory(new TestRandom(seed), { clients: 5, operationsPerClient: 20, keys: 2, unknownProbability: 0.1 });
      const result = checkOperations(model, history);
      expect(result.result, `seed ${seed}: ${formatResult(result, model)}`).toBe("ok");
    }
  });

  it("znode-set histories", () => {
    const model = znodeSetModel();
    for (const seed of seeds) {
      const history = znodeSetHistory(new TestRandom(seed), { clients: 5, operationsPerClient: 20, keys: 2, names: 6, unknownProbability: 0.1 });
      const result = checkOperations(model, history);
      expect(result.result, `seed ${seed}: ${formatResult(result, model)}`).toBe("ok");
    }
  });
});

describe("provably illegal mutations fail", () => {
  const shape = { clients: 5, operationsPerClient: 20, keys: 3, unknownProbability: 0.1 };

  it("a read of a value never written", () => {
    let mutations = 0;
    for (const seed of seeds) {
      const random = new TestRandom(seed);
      const { history } = registerHistory(random, shape);
      const reads = history.map((op, index) => ({ op, index })).filter(({ op }) => isKnownRead(op));
      if (reads.length === 0) continue;
      const { op, index } = random.pick(reads);
      const version = op.output !== UNKNOWN && op.output.code === "ok" ? op.output.version : 0;
      const mutated = replaced<RegisterOp>(history, index, { ...op, output: { code: "ok", value: "never-written", version } });
      expect(checkOperations(register, mutated).result, `seed ${seed}`).toBe("illegal");
      mutations++;
    }
    expect(mutations).toBeGreaterThan(100);
  });

  // Versions only grow, so a read that starts after a write with version v was
  // acknowledged cannot return a version below v.
  function staleReadMutations(lost: boolean): number {
    let mutations = 0;
    for (const seed of seeds) {
      const random = new TestRandom(seed);
      const { history, store } = registerHistory(random, shape);
      const pairs: { readIndex: number; version: number; key: string }[] = [];
      history.forEach((writeOp) => {
        const version = acknowledgedVersion(writeOp);
        if (version === undefined) return;
        history.forEach((readOp, readIndex) => {
          if (isKnownRead(readOp) && readOp.input.key === writeOp.input.key && readOp.call > writeOp.return) {
            pairs.push({ readIndex, version, key: writeOp.input.key });
          }
        });
      });
      if (pairs.length === 0) continue;
      const { readIndex, version, key } = random.pick(pairs);
      const staleVersion = lost ? version - 1 : random.int(0, version - 1);
      const value = store.versions(key)[staleVersion] ?? "";
      const readOp = history[readIndex]!;
      const mutated = replaced<RegisterOp>(history, readIndex, { ...readOp, output: { code: "ok", value, version: staleVersion } });
      const result = checkOperations(register, mutated);
      expect(result.result, `seed ${seed}`).toBe("illegal");
      expect(result.counterexample).toBeDefined();
      mutations++;
    }
    return mutations;
  }

  it("a stale read after a completed write", () => {
    expect(staleReadMutations(false)).toBeGreaterThan(100);
  });

  it("a lost write: a read after the acknowledgement sees the value before it", () => {
    expect(staleReadMutations(true)).toBeGreaterThan(100);
  });

  it("a compare-and-set succeeding twice from the same version", () => {
    let mutations = 0;
    for (const seed of seeds) {
      const random = new TestRandom(seed);
      const { history } = registerHistory(random, shape);
      const winners = history.filter((op) => op.input.type === "cas" && acknowledgedVersion(op) !== undefined);
      if (winners.length === 0) continue;
      const winner = random.pick(winners);
      if (winner.input.type !== "cas") continue;
      const { key, expectedVersion } = winner.input;
      const others = history
        .map((op, index) => ({ op, index }))
        .filter(({ op }) => op !== winner && op.input.key === key && op.output !== UNKNOWN && op.return !== Infinity);
      if (others.length === 0) continue;
      const { op, index } = random.pick(others);
      const twin: RegisterOp = {
        ...op,
        input: { type: "cas", key, expectedVersion, value: `twin${index}` },
        output: { code: "ok", version: expectedVersion + 1 },
      };
      expect(checkOperations(register, replaced(history, index, twin)).result, `seed ${seed}`).toBe("illegal");
      mutations++;
    }
    expect(mutations).toBeGreaterThan(50);
  });

  it("getChildren missing a child created before it started, or listing a phantom", () => {
    const model = znodeSetModel();
    type SetOp = Operation<ZnodeSetInput, ZnodeSetOutput>;
    let missing = 0;
    let phantoms = 0;
    for (const seed of seeds) {
      const random = new TestRandom(seed);
      const history: SetOp[] = znodeSetHistory(random, { clients: 5, operationsPerClient: 20, keys: 2, names: 6, unknownProbability: 0.1 });
      const lists = history
        .map((op, index) => ({ op, index }))
        .filter(({ op }) => op.input.type === "getChildren" && op.output !== UNKNOWN && op.return !== Infinity);
      for (const { op, index } of lists) {
        if (op.output === UNKNOWN || op.output.code !== "ok" || op.output.children === undefined) continue;
        const listed = op.output.children;
        // A child is certainly present if an acknowledged create returned before
        // the listing began and no delete that might have succeeded was called before it ended.
        const certain = listed.filter((name) => {
          const sameChild = (other: SetOp): boolean =>
            other.input.type !== "getChildren" && other.input.parent === op.input.parent && other.input.name === name;
          const createdBefore = history.some(
            (other) => sameChild(other) && other.input.type === "createChild" && other.output !== UNKNOWN && other.output.code === "ok" && other.return < op.call,
          );
          const mayBeDeleted = history.some(
            (other) =>
              sameChild(other) && other.input.type === "deleteChild" && (other.output === UNKNOWN || other.output.code === "ok") && other.call <= op.return,
          );
          return createdBefore && !mayBeDeleted;
        });
        if (certain.length > 0 && missing < 200) {
          const dropped = random.pick(certain);
          const mutated = replaced<SetOp>(history, index, { ...op, output: { code: "ok", children: listed.filter((name) => name !== dropped) } });
          expect(checkOperations(model, mutated).result, `seed ${seed} drop ${dropped}`).toBe("illegal");
          missing++;
        }
        if (phantoms < seeds.length && index % 3 === 0) {
          const mutated = replaced<SetOp>(history, index, { ...op, output: { code: "ok", children: [...listed, "never-created"] } });
          expect(checkOperations(model, mutated).result, `seed ${seed} phantom`).toBe("illegal");
          phantoms++;
        }
      }
    }
    expect(missing).toBeGreaterThan(50);
    expect(phantoms).toBeGreaterThan(50);
  });
});
