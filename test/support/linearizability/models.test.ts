import { describe, expect, it } from "vitest";
import { LinearizedSet } from "./bitset.js";
import {
  UNKNOWN,
  checkOperations,
  znodeRegisterModel,
  znodeSetModel,
  type Operation,
  type ZnodeInput,
  type ZnodeOutput,
  type ZnodeSetInput,
  type ZnodeSetOutput,
} from "./index.js";
import { TestRandom } from "./testing/random.js";

type ZOp = Operation<ZnodeInput, ZnodeOutput>;
const znode = znodeRegisterModel();
let clock = 0;
/** Sequential operations by default: each call after the previous return. */
const z = (input: ZnodeInput, output: ZnodeOutput | typeof UNKNOWN, times?: [number, number]): ZOp => {
  const [call, ret] = times ?? [(clock += 2), clock + 1];
  return { clientId: 0, input, output, call, return: output === UNKNOWN && times === undefined ? Infinity : ret };
};
const P = "/a";

describe("znode register model", () => {
  it("follows ZooKeeper versions through create, setData, delete and re-create", () => {
    const history = [
      z({ type: "getData", path: P }, { code: "NoNode" }),
      z({ type: "setData", path: P, data: "x", version: -1 }, { code: "NoNode" }),
      z({ type: "create", path: P, data: "d0" }, { code: "ok" }),
      z({ type: "create", path: P, data: "again" }, { code: "NodeExists" }),
      z({ type: "getData", path: P }, { code: "ok", data: "d0", version: 0 }),
      z({ type: "setData", path: P, data: "d1", version: -1 }, { code: "ok", version: 1 }),
      z({ type: "setData", path: P, data: "d2", version: 0 }, { code: "BadVersion" }),
      z({ type: "setData", path: P, data: "d2", version: 1 }, { code: "ok", version: 2 }),
      z({ type: "exists", path: P }, { code: "ok", version: 2 }),
      z({ type: "delete", path: P, version: 1 }, { code: "BadVersion" }),
      z({ type: "delete", path: P, version: 2 }, { code: "ok" }),
      z({ type: "delete", path: P, version: -1 }, { code: "NoNode" }),
      z({ type: "exists", path: P }, { code: "NoNode" }),
      z({ type: "create", path: P, data: "e" }, { code: "ok" }),
      z({ type: "getData", path: P }, { code: "ok", data: "e", version: 0 }),
    ];
    expect(checkOperations(znode, history).result).toBe("ok");
  });

  it("rejects wrong versions, double creates and writes to absent nodes", () => {
    const created = z({ type: "create", path: P, data: "d0" }, { code: "ok" });
    expect(checkOperations(znode, [created, z({ type: "setData", path: P, data: "d1", version: -1 }, { code: "ok", version: 2 })]).result).toBe("illegal");
    expect(checkOperations(znode, [created, z({ type: "getData", path: P }, { code: "ok", data: "d0", version: 1 })]).result).toBe("illegal");
    expect(checkOperations(znode, [z({ type: "setData", path: P, data: "d1", version: -1 }, { code: "ok", version: 1 })]).result).toBe("illegal");
    const racingCreates = [
      z({ type: "create", path: P, data: "p" }, { code: "ok" }, [0, 10]),
      z({ type: "create", path: P, data: "q" }, { code: "ok" }, [1, 9]),
    ];
    expect(checkOperations(znode, racingCreates).result).toBe("illegal");
    const oneWins = [racingCreates[0]!, z({ type: "create", path: P, data: "q" }, { code: "NodeExists" }, [1, 9])];
    expect(checkOperations(znode, oneWins).result).toBe("ok");
  });

  it("lets an unknown-outcome create take effect late or never, but not flicker", () => {
    const create = z({ type: "create", path: P, data: "d" }, UNKNOWN, [0, Infinity]);
    const absentThenPresent = [
      create,
      z({ type: "getData", path: P }, { code: "NoNode" }, [5, 6]),
      z({ type: "getData", path: P }, { code: "ok", data: "d", version: 0 }, [7, 8]),
    ];
    expect(checkOperations(znode, absentThenPresent).result).toBe("ok");
    const neverPresent = [create, z({ type: "exists", path: P }, { code: "NoNode" }, [5, 6])];
    expect(checkOperations(znode, neverPresent).result).toBe("ok");
    const flicker = [
      create,
      z({ type: "getData", path: P }, { code: "ok", data: "d", version: 0 }, [5, 6]),
      z({ type: "getData", path: P }, { code: "NoNode" }, [7, 8]),
    ];
    expect(checkOperations(znode, flicker).result).toBe("illegal");
  });

  it("starts from a configured initial state and partitions by path", () => {
    const present = znodeRegisterModel({ initial: { exists: true, data: "init", version: 3 } });
    const history = [
      z({ type: "getData", path: "/x" }, { code: "ok", data: "init", version: 3 }, [0, 1]),
      z({ type: "setData", path: "/y", data: "n", version: 3 }, { code: "ok", version: 4 }, [0, 1]),
    ];
    const result = checkOperations(present, history);
    expect(result.result).toBe("ok");
    expect(result.partitions).toBe(2);
  });
});

describe("znode set model", () => {
  type SOp = Operation<ZnodeSetInput, ZnodeSetOutput>;
  const model = znodeSetModel();
  const s = (input: ZnodeSetInput, output: ZnodeSetOutput, call: number, ret: number, clientId = 0): SOp => ({ clientId, input, output, call, return: ret });
  const create = (name: string, code: "ok" | "NodeExists", call: number, ret: number, parent = "/p"): SOp =>
    s({ type: "createChild", parent, name }, { code }, call, ret);
  const remove = (name: string, code: "ok" | "NoNode", call: number, ret: number): SOp => s({ type: "deleteChild", parent: "/p", name }, { code }, call, ret);
  const list = (children: string[], call: number, ret: number, parent = "/p"): SOp =>
    s({ type: "getChildren", parent }, { code: "ok", children }, call, ret, 1);

  it("accepts children listed in any order, creates and deletes", () => {
    const history = [
      create("b", "ok", 0, 1),
      create("a", "ok", 2, 3),
      create("a", "NodeExists", 4, 5),
      list(["b", "a"], 6, 7),
      remove("b", "ok", 8, 9),
      remove("b", "NoNode", 10, 11),
      list(["a"], 12, 13),
    ];
    expect(checkOperations(model, history).result).toBe("ok");
  });

  it("rejects getChildren missing a child created before it started", () => {
    expect(checkOperations(model, [create("a", "ok", 0, 1), list([], 2, 3)]).result).toBe("illegal");
    // Concurrent with the create, either answer is fine.
    expect(checkOperations(model, [create("a", "ok", 0, 5), list([], 2, 3)]).result).toBe("ok");
    expect(checkOperations(model, [create("a", "ok", 0, 5), list(["a"], 2, 3)]).result).toBe("ok");
  });

  it("rejects deleting what was never created, duplicates and phantom children", () => {
    expect(checkOperations(model, [remove("a", "ok", 0, 1)]).result).toBe("illegal");
    expect(checkOperations(model, [create("a", "ok", 0, 1), list(["a", "a"], 2, 3)]).result).toBe("illegal");
    expect(checkOperations(model, [create("a", "ok", 0, 1), list(["a", "ghost"], 2, 3)]).result).toBe("illegal");
  });

  it("checks each parent separately", () => {
    const history = [create("a", "ok", 0, 1, "/p"), create("a", "ok", 0, 1, "/q"), list(["a"], 2, 3, "/p"), list(["a"], 2, 3, "/q")];
    const result = checkOperations(model, history);
    expect(result.result).toBe("ok");
    expect(result.partitions).toBe(2);
  });
});

describe("LinearizedSet", () => {
  it("gives equal snapshots and hashes for equal sets reached in different orders", () => {
    const random = new TestRandom(7);
    const size = 300;
    for (let round = 0; round < 50; round++) {
      const members = new Set<number>();
      for (let i = 0; i < size; i++) if (random.chance(round / 50)) members.add(i);
      // One set built in order, one built with detours (extra bits set then cleared).
      const plain = new LinearizedSet(size);
      for (const index of [...members].sort((a, b) => a - b)) plain.set(index);
      const detour = new LinearizedSet(size);
      const order = [...members].reverse();
      for (const index of order) {
        detour.set(index);
        const extra = random.int(0, size - 1);
        if (!detour.has(extra) && !members.has(extra)) {
          detour.set(extra);
          detour.clear(extra);
        }
      }
      expect(detour.count).toBe(members.size);
      expect(detour.hash).toBe(plain.hash);
      expect(detour.equals(plain.snapshot())).toBe(true);
      expect(plain.equals(detour.snapshot())).toBe(true);
      for (let i = 0; i < size; i++) expect(detour.has(i)).toBe(members.has(i));
      if (members.size < size) {
        const missing = [...Array(size).keys()].find((i) => !members.has(i)) ?? 0;
        plain.set(missing);
        expect(detour.equals(plain.snapshot())).toBe(false);
      }
    }
  });

  it("keeps snapshots small for a dense prefix", () => {
    const set = new LinearizedSet(100_000);
    for (let i = 0; i < 50_000; i++) set.set(i);
    set.set(50_040);
    const snapshot = set.snapshot();
    expect(snapshot.low).toBe(Math.floor(50_000 / 32));
    expect(snapshot.words.length).toBeLessThanOrEqual(3);
  });
});
