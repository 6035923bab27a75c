// Size tests: large histories check in a generous budget (no wall-time
// assertions; the step counts are deterministic and printed by formatResult on failure).

import { describe, expect, it } from "vitest";
import { UNKNOWN, checkOperations, formatResult, registerModel, type Operation, type RegisterInput, type RegisterOutput } from "./index.js";
import { TestRandom } from "./testing/random.js";
import { registerHistory } from "./testing/workloads.js";

const model = registerModel();

describe("performance", () => {
  it("checks 10,000 operations on 10 keys from 5 concurrent clients", () => {
    const { history } = registerHistory(new TestRandom(42), { clients: 5, operationsPerClient: 2_000, keys: 10, unknownProbability: 0.01 });
    expect(history).toHaveLength(10_000);
    const result = checkOperations(model, history, { maxSteps: 50_000_000 });
    expect(result.result, formatResult(result, model)).toBe("ok");
    expect(result.partitions).toBe(10);
  });

  it("checks 100,000 operations on one key without recursion (compact cache bitsets)", () => {
    const { history } = registerHistory(new TestRandom(7), { clients: 5, operationsPerClient: 20_000, keys: 1, unknownProbability: 0 });
    const result = checkOperations(model, history, { maxSteps: 50_000_000 });
    expect(result.result, formatResult(result, model)).toBe("ok");
    expect(result.partitions).toBe(1);
  });

  it("finds a stale read near the end of a 20,000-operation history", () => {
    const { history } = registerHistory(new TestRandom(9), { clients: 5, operationsPerClient: 4_000, keys: 1, unknownProbability: 0 });
    type Op = Operation<RegisterInput, RegisterOutput>;
    // The last read that starts after some acknowledged write: make it return the initial value.
    const lastIndex = history.findLastIndex((op) => op.input.type === "read" && history.some((w) => w.input.type !== "read" && w.output !== UNKNOWN && w.output.code === "ok" && w.return < op.call));
    const mutated: Op[] = [...history];
    mutated[lastIndex] = { ...history[lastIndex]!, output: { code: "ok", value: "", version: 0 } };
    const result = checkOperations(model, mutated, { maxSteps: 50_000_000 });
    expect(result.result).toBe("illegal");
    expect(result.counterexample?.stuck.index).toBe(lastIndex);
    expect(result.counterexample?.prefix.length).toBeGreaterThan(19_000);
  });
});
