import { describe, expect, it } from "vitest";
import {
  InvalidHistoryError,
  LinearizabilityError,
  UNKNOWN,
  assertLinearizable,
  checkEvents,
  checkOperations,
  formatCounterexample,
  formatResult,
  registerModel,
  type HistoryEvent,
  type Operation,
  type RegisterInput,
  type RegisterOutput,
} from "./index.js";

type Op = Operation<RegisterInput, RegisterOutput>;
const model = registerModel();

const write = (clientId: number, value: string, version: number, call: number, ret: number, key = "x"): Op => ({
  clientId,
  input: { type: "write", key, value },
  output: { code: "ok", version },
  call,
  return: ret,
});
const read = (clientId: number, value: string, version: number, call: number, ret: number, key = "x"): Op => ({
  clientId,
  input: { type: "read", key },
  output: { code: "ok", value, version },
  call,
  return: ret,
});
const timedOutWrite = (clientId: number, value: string, call: number, key = "x"): Op => ({
  clientId,
  input: { type: "write", key, value },
  output: UNKNOWN,
  call,
  return: Infinity,
});

describe("checkOperations on hand-written register histories", () => {
  it("accepts the empty history", () => {
    const result = checkOperations(model, []);
    expect(result.result).toBe("ok");
    expect(result.partitions).toBe(0);
  });

  it("accepts a sequential history", () => {
    const history = [write(0, "a", 1, 0, 1), read(1, "a", 1, 2, 3), write(1, "b", 2, 4, 5), read(0, "b", 2, 6, 7)];
    expect(checkOperations(model, history).result).toBe("ok");
  });

  it("accepts a read concurrent with a write seeing either value", () => {
    expect(checkOperations(model, [write(0, "a", 1, 0, 10), read(1, "", 0, 1, 2)]).result).toBe("ok");
    expect(checkOperations(model, [write(0, "a", 1, 0, 10), read(1, "a", 1, 1, 2)]).result).toBe("ok");
  });

  it("accepts writes linearized in the opposite order of their calls", () => {
    const history = [write(0, "a", 2, 0, 10), write(1, "b", 1, 1, 9), read(2, "a", 2, 11, 12)];
    expect(checkOperations(model, history).result).toBe("ok");
  });

  it("counts touching intervals as concurrent", () => {
    // The read returns at 5, the write is called at 5: either order is allowed.
    expect(checkOperations(model, [read(1, "a", 1, 0, 5), write(0, "a", 1, 5, 6)]).result).toBe("ok");
  });

  it("rejects a new-then-old read inversion during one write", () => {
    const history = [write(0, "a", 1, 0, 10), read(1, "a", 1, 1, 2), read(1, "", 0, 3, 4)];
    const result = checkOperations(model, history);
    expect(result.result).toBe("illegal");
    const counterexample = result.counterexample;
    expect(counterexample?.stuck.index).toBe(2);
    expect(counterexample?.prefix.map((step) => step.index)).toEqual([0, 1]);
  });

  it("rejects a stale read after a completed write", () => {
    const result = checkOperations(model, [write(0, "a", 1, 0, 1), read(1, "", 0, 2, 3)]);
    expect(result.result).toBe("illegal");
    expect(result.counterexample?.stuck.index).toBe(1);
    expect(result.counterexample?.candidates.map((candidate) => candidate.index)).toEqual([1]);
  });

  it("rejects a read of a value never written", () => {
    expect(checkOperations(model, [write(0, "a", 1, 0, 10), read(1, "zzz", 1, 1, 2)]).result).toBe("illegal");
  });

  it("rejects two compare-and-sets succeeding from the same version", () => {
    const cas = (clientId: number, call: number, ret: number): Op => ({
      clientId,
      input: { type: "cas", key: "x", expectedVersion: 0, value: `c${clientId}` },
      output: { code: "ok", version: 1 },
      call,
      return: ret,
    });
    expect(checkOperations(model, [cas(0, 0, 10), cas(1, 1, 9)]).result).toBe("illegal");
    const oneFails: Op = { ...cas(1, 1, 9), output: { code: "BadVersion" } };
    expect(checkOperations(model, [cas(0, 0, 10), oneFails]).result).toBe("ok");
  });

  it("accepts an unknown-outcome write that took effect, even long after the client gave up", () => {
    const history = [timedOutWrite(0, "a", 0), read(1, "", 0, 100, 101), read(1, "a", 1, 200, 201)];
    expect(checkOperations(model, history).result).toBe("ok");
  });

  it("accepts an unknown-outcome write that never took effect", () => {
    const history = [timedOutWrite(0, "a", 0), read(1, "", 0, 100, 101), write(1, "b", 1, 102, 103), read(1, "b", 1, 104, 105)];
    expect(checkOperations(model, history).result).toBe("ok");
  });

  it("rejects an unknown-outcome write seen and then unseen", () => {
    const history = [timedOutWrite(0, "a", 0), read(1, "a", 1, 100, 101), read(1, "", 0, 102, 103)];
    expect(checkOperations(model, history).result).toBe("illegal");
  });

  it("rejects observing an unknown-outcome write before it was called", () => {
    const history = [read(1, "a", 1, 0, 1), timedOutWrite(0, "a", 2)];
    expect(checkOperations(model, history).result).toBe("illegal");
  });

  it("treats UNKNOWN output with a finite return as 'took effect by then'", () => {
    const completed: Op = { clientId: 0, input: { type: "write", key: "x", value: "a" }, output: UNKNOWN, call: 0, return: 1 };
    expect(checkOperations(model, [completed, read(1, "a", 1, 2, 3)]).result).toBe("ok");
    expect(checkOperations(model, [completed, read(1, "", 0, 2, 3)]).result).toBe("illegal");
  });

  it("drops unknown-outcome reads, which constrain nothing", () => {
    const lostRead: Op = { clientId: 1, input: { type: "read", key: "x" }, output: UNKNOWN, call: 0, return: Infinity };
    const result = checkOperations(model, [lostRead, write(0, "a", 1, 1, 2)]);
    expect(result.result).toBe("ok");
    expect(result.droppedOperations).toBe(1);
  });

  it("checks keys independently and reports the failing partition", () => {
    const history = [write(0, "a", 1, 0, 1, "k1"), read(1, "a", 1, 2, 3, "k1"), write(0, "b", 1, 0, 1, "k2"), read(1, "", 0, 2, 3, "k2")];
    const result = checkOperations(model, history);
    expect(result.result).toBe("illegal");
    expect(result.partitions).toBe(2);
    expect(result.partitionsChecked).toBe(2);
    expect(result.counterexample?.partitionIndex).toBe(1);
    expect(result.counterexample?.stuck.index).toBe(3);
  });
});

describe("budget", () => {
  // Many concurrent writes all read back at the end: the search must explore orders.
  const concurrent: Op[] = [];
  for (let i = 0; i < 12; i++) concurrent.push(write(i, `v${i}`, 12 - i, 0, 100));
  concurrent.push(read(99, "v0", 12, 101, 102));

  it("returns unknown when the step budget runs out", () => {
    const result = checkOperations(model, concurrent, { maxSteps: 5 });
    expect(result.result).toBe("unknown");
    expect(result.budgetExhausted).toBe("steps");
    expect(result.unknownPartitionIndex).toBe(0);
    expect(result.partitionsChecked).toBe(0);
    expect(formatResult(result)).toContain("treat as failure");
  });

  it("returns unknown when the time budget runs out (injected clock)", () => {
    let now = 0;
    const writes: Op[] = [];
    // Unknown-outcome writes and an impossible read: the search must try every subset of writes.
    for (let i = 0; i < 18; i++) writes.push(timedOutWrite(i, `v${i}`, 0));
    writes.push(read(99, "nothing", 99, 101, 102));
    const result = checkOperations(model, writes, { timeoutMs: 10, now: () => (now += 1) });
    expect(result.result).toBe("unknown");
    expect(result.budgetExhausted).toBe("time");
  });

  it("returns unknown when the cache limit is hit", () => {
    const result = checkOperations(model, concurrent, { maxCacheEntries: 3 });
    expect(result.result).toBe("unknown");
    expect(result.budgetExhausted).toBe("cache");
  });

  it("finds the order with a sufficient budget", () => {
    expect(checkOperations(model, concurrent).result).toBe("ok");
  });
});

describe("event-list form", () => {
  it("converts calls and returns, treating unreturned calls as unknown outcome", () => {
    const events: HistoryEvent<RegisterInput, RegisterOutput>[] = [
      { kind: "call", id: "w", clientId: 0, input: { type: "write", key: "x", value: "a" } },
      { kind: "call", id: "r1", clientId: 1, input: { type: "read", key: "x" } },
      { kind: "return", id: "r1", output: { code: "ok", value: "a", version: 1 } },
      { kind: "call", id: "r2", clientId: 1, input: { type: "read", key: "x" } },
      { kind: "return", id: "r2", output: { code: "ok", value: "a", version: 1 } },
    ];
    expect(checkEvents(model, events).result).toBe("ok");
    const stale = [...events, { kind: "call", id: "r3", clientId: 1, input: { type: "read", key: "x" } } as const, { kind: "return", id: "r3", output: { code: "ok", value: "", version: 0 } } as const];
    expect(checkEvents(model, stale).result).toBe("illegal");
  });

  it("rejects malformed event lists with typed errors", () => {
    expect(() => checkEvents(model, [{ kind: "return", id: 1, output: { code: "BadVersion" } }])).toThrow(InvalidHistoryError);
    const duplicate: HistoryEvent<RegisterInput, RegisterOutput>[] = [
      { kind: "call", id: 1, clientId: 0, input: { type: "read", key: "x" } },
      { kind: "call", id: 1, clientId: 0, input: { type: "read", key: "x" } },
    ];
    try {
      checkEvents(model, duplicate);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidHistoryError);
      expect((error as InvalidHistoryError).code).toBe("DuplicateCall");
    }
  });
});

describe("history validation", () => {
  const codeOf = (history: Op[]): string | undefined => {
    try {
      checkOperations(model, history);
      return undefined;
    } catch (error) {
      return error instanceof InvalidHistoryError ? error.code : "other";
    }
  };

  it("rejects bad times, known outputs without a return, and bad partitions", () => {
    expect(codeOf([write(0, "a", 1, 5, 4)])).toBe("ReturnBeforeCall");
    expect(codeOf([write(0, "a", 1, Number.NaN, 4)])).toBe("BadTime");
    expect(codeOf([write(0, "a", 1, 0, Infinity)])).toBe("KnownOutputWithoutReturn");
    const op = write(0, "a", 1, 0, 1);
    expect(codeOf([op, op])).toBe("BadPartition");
    const lossy = { ...model, partition: () => [] };
    expect(() => checkOperations(lossy, [op])).toThrow(InvalidHistoryError);
  });
});

describe("reports", () => {
  it("formats a counterexample with the prefix, the stuck operation and the candidates", () => {
    const history = [write(0, "a", 1, 0, 10), read(1, "a", 1, 1, 2), read(1, "", 0, 3, 4), write(2, "b", 2, 3.5, 20)];
    const result = checkOperations(model, history);
    expect(result.result).toBe("illegal");
    const text = formatCounterexample(result.counterexample!, model);
    // The deepest prefix linearizes the concurrent write too, then the stale read is stuck.
    expect(text).toContain("Longest linearizable prefix: 3 operations");
    expect(text).toContain('3. #3 client 2 [3.5, 20] write(x, "b") -> ok {version: 2}  => {value: "b", version: 2}');
    expect(text).toContain('State after the prefix: {value: "b", version: 2}');
    expect(text).toContain('Could not linearize #2 client 1 [3, 4] read(x) -> {value: "", version: 0} before it returned.');
    expect(formatCounterexample(result.counterexample!, model, { maxPrefixSteps: 1 })).toContain("last 1 shown");
  });

  it("assertLinearizable returns ok results and throws LinearizabilityError otherwise", () => {
    expect(assertLinearizable(model, [write(0, "a", 1, 0, 1)]).result).toBe("ok");
    expect(() => assertLinearizable(model, [write(0, "a", 1, 0, 1), read(1, "", 0, 2, 3)])).toThrow(LinearizabilityError);
    try {
      assertLinearizable(model, [write(0, "a", 1, 0, 1)], { maxSteps: 0 });
      expect.unreachable();
    } catch (error) {
      expect((error as LinearizabilityError).code).toBe("Unknown");
    }
  });

  it("is deterministic", () => {
    const history = [write(0, "a", 1, 0, 10), read(1, "a", 1, 1, 2), read(1, "", 0, 3, 4), write(2, "b", 2, 3.5, 20)];
    expect(formatResult(checkOperations(model, history), model)).toBe(formatResult(checkOperations(model, history), model));
  });
});
