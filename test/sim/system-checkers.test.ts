/**
 * Each checker of the whole-system simulator is shown to catch the bug it
 * targets: planted in a real simulated ensemble where that is practical
 * (diverging replica, ephemerals deleted late, reads served by a lagging
 * node), on a fabricated observation log otherwise.
 */
import { describe, expect, it } from "vitest";
import { CorralClient } from "@corral/client";
import { UNKNOWN } from "../support/linearizability/index.js";
import { DigestChecker } from "./checkers/digest.js";
import { FencedResource, checkFencing } from "./checkers/fencing.js";
import { HistoryRecorder, checkHistories } from "./checkers/history.js";
import { RaftChecker } from "./checkers/raft.js";
import { Violations } from "./checkers/violation.js";
import { WatchLog, checkWatchLog } from "./checkers/watch.js";
import { SystemEnsemble } from "./system-ensemble.js";
import { runSystemSim } from "./system-sim.js";

async function settle<T>(ensemble: SystemEnsemble, promise: Promise<T>, maxMs = 10_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then((value) => (outcome = { ok: true, value }), (error: unknown) => (outcome = { ok: false, error }));
  await ensemble.runUntil(() => outcome !== undefined, maxMs);
  if (outcome === undefined) throw new Error("not settled");
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

describe("linearizability checker on client histories", () => {
  it("fails a history with a stale read and passes it without", () => {
    const history = new HistoryRecorder();
    history.callRegister("a", { type: "create", path: "/k", data: "1" }, 0)({ code: "ok" }, 5);
    history.callRegister("a", { type: "setData", path: "/k", data: "2", version: -1 }, 10)({ code: "ok", version: 1 }, 15);
    const clean = new Violations();
    checkHistories(history, clean);
    expect(clean.ok).toBe(true);
    history.callRegister("b", { type: "getData", path: "/k" }, 20)({ code: "ok", data: "1", version: 0 }, 25);
    const stale = new Violations();
    checkHistories(history, stale);
    expect(stale.list.map((v) => v.checker)).toEqual(["linearizability"]);
  });

  it("treats an unknown outcome as possibly applied, at any later time", () => {
    const history = new HistoryRecorder();
    history.callRegister("a", { type: "create", path: "/k", data: "1" }, 0)(UNKNOWN, 5);
    history.callRegister("b", { type: "getData", path: "/k" }, 20)({ code: "ok", data: "1", version: 0 }, 25);
    const violations = new Violations();
    checkHistories(history, violations);
    expect(violations.ok).toBe(true);
  });

  it("catches reads served by a lagging node without ReadIndex, in a simulated ensemble", async () => {
    const ensemble = await SystemEnsemble.start({ seed: 77, nodes: 3 });
    await ensemble.runUntil(() => ensemble.leader() !== undefined, 10_000);
    const leader = ensemble.leader()!.id;
    const lagging = ensemble.nodeIds.find((id) => id !== leader)!;
    const options = { sessionTimeoutMs: 3_000 };
    const writer = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("writer"), { ...options, nodes: [leader] }, { clientId: "c-writer" }));
    // Two sessions on the lagging node: a read left waiting on one would hold the other's reads behind it (FIFO).
    const readers = [
      await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("reader"), { ...options, nodes: [lagging] }, { clientId: "c-reader" })),
      await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("reader2"), { ...options, nodes: [lagging] }, { clientId: "c-reader2" })),
    ];
    const history = new HistoryRecorder();
    const now = (): number => ensemble.sim.now();
    const created = history.callRegister("writer", { type: "create", path: "/k", data: "1" }, now());
    await settle(ensemble, writer.create("/k", "1"));
    created({ code: "ok" }, now());
    await ensemble.runFor(100);
    // The lagging follower stops hearing from the ensemble; its client can still reach it.
    ensemble.fault({ kind: "partition", groups: [[lagging], ensemble.nodeIds.filter((id) => id !== lagging)] });
    const record = async (linearizable: boolean): Promise<Violations> => {
      const write = history.callRegister("writer", { type: "setData", path: "/k", data: `v${now()}`, version: -1 }, now());
      const stat = await settle(ensemble, writer.setData("/k", `v${now()}`));
      write({ code: "ok", version: stat.version }, now());
      const read = history.callRegister("reader", { type: "getData", path: "/k" }, now());
      try {
        const result = await settle(ensemble, readers[linearizable ? 0 : 1]!.getData("/k", { linearizable }), 2_000);
        read({ code: "ok", data: new TextDecoder().decode(result.data), version: result.stat.version }, now());
      } catch {
        read(UNKNOWN, now());
      }
      const violations = new Violations();
      checkHistories(history, violations);
      return violations;
    };
    // With ReadIndex the lagging node cannot answer (unknown outcome): linearizable.
    expect((await record(true)).ok).toBe(true);
    // The planted bug: the lagging node serves its stale tree.
    const stale = await record(false);
    expect(stale.list.map((v) => v.checker)).toContain("linearizability");
    await ensemble.close();
  }, 60_000);
});

describe("digest checker", () => {
  it("fails on different digests at the same applied index", () => {
    const violations = new Violations();
    const checker = new DigestChecker(violations);
    checker.observe("n1", 5, "aa");
    checker.observe("n2", 5, "aa");
    checker.observe("n3", 6, "bb");
    expect(violations.ok).toBe(true);
    checker.observe("n2", 6, "cc");
    expect(violations.list[0]?.message).toMatch(/digest mismatch at applied index 6/);
  });

  it("catches a replica that silently skips a write, in the whole-system simulator", async () => {
    const result = await runSystemSim({ seed: 3, plantedBug: "divergentReplica", faultKinds: [], safetyMs: 1_500 });
    expect(result.ok).toBe(false);
    expect(result.violations.map((v) => v.checker)).toContain("digest");
  }, 60_000);
});

describe("session checker", () => {
  it("catches ephemerals left behind after their session's close is applied", async () => {
    const result = await runSystemSim({ seed: 5, plantedBug: "lateEphemeralDelete", faultKinds: [], safetyMs: 1_500 });
    expect(result.ok).toBe(false);
    expect(result.violations.some((v) => v.checker === "session" && /still visible after its close was applied/.test(v.message))).toBe(true);
  }, 60_000);
});

describe("raft checker", () => {
  it("fails on two leaders in one term", () => {
    const violations = new Violations();
    const checker = new RaftChecker(violations);
    checker.observeRoles([{ nodeId: "n1", role: "leader", term: 3, commitIndex: 1 }, { nodeId: "n2", role: "follower", term: 3, commitIndex: 1 }]);
    expect(violations.ok).toBe(true);
    checker.observeRoles([{ nodeId: "n2", role: "leader", term: 3, commitIndex: 1 }]);
    expect(violations.list[0]?.message).toMatch(/two leaders in term 3/);
  });

  it("fails when a committed index holds different entries on two nodes (commit without quorum)", () => {
    const violations = new Violations();
    const checker = new RaftChecker(violations);
    checker.observeCommitted("n1", 2, [{ index: 1, term: 1, fingerprint: "a" }, { index: 2, term: 1, fingerprint: "b" }, { index: 3, term: 1, fingerprint: "c" }]);
    checker.observeCommitted("n2", 3, [{ index: 1, term: 1, fingerprint: "a" }, { index: 2, term: 1, fingerprint: "b" }, { index: 3, term: 2, fingerprint: "x" }]);
    expect(violations.ok).toBe(true);
    checker.observeCommitted("n3", 3, [{ index: 3, term: 1, fingerprint: "c" }]);
    expect(violations.list[0]?.message).toMatch(/committed index 3 differs/);
  });
});

describe("watch checker", () => {
  it("fails a one-shot watch that fires twice, events out of zxid order, and newer data before the event", () => {
    const twice = new WatchLog("twice");
    twice.push({ kind: "registered", watchId: 1, path: "/w", mzxid: 4 });
    twice.push({ kind: "event", watchId: 1, path: "/w", zxid: 5 });
    twice.push({ kind: "event", watchId: 1, path: "/w", zxid: 6 });
    const disorder = new WatchLog("disorder");
    disorder.push({ kind: "event", watchId: 1, path: "/a", zxid: 9 });
    disorder.push({ kind: "event", watchId: 2, path: "/b", zxid: 7 });
    const early = new WatchLog("early");
    early.push({ kind: "registered", watchId: 1, path: "/w", mzxid: 4 });
    early.push({ kind: "read", path: "/w", mzxid: 4 });
    early.push({ kind: "read", path: "/w", mzxid: 8 });
    early.push({ kind: "event", watchId: 1, path: "/w", zxid: 8 });
    const good = new WatchLog("good");
    good.push({ kind: "registered", watchId: 1, path: "/w", mzxid: 4 });
    good.push({ kind: "event", watchId: 1, path: "/w", zxid: 8 });
    good.push({ kind: "read", path: "/w", mzxid: 8 });
    const messages = (log: WatchLog): string[] => {
      const violations = new Violations();
      checkWatchLog(log, violations);
      return violations.list.map((v) => v.message);
    };
    expect(messages(good)).toEqual([]);
    expect(messages(twice)[0]).toMatch(/fired 2 times/);
    expect(messages(disorder)[0]).toMatch(/event zxid 7 on \/b after event zxid 9/);
    expect(messages(early)[0]).toMatch(/saw mzxid 8 before watch 1/);
  });
});

describe("fencing checker", () => {
  it("catches a resource that ignores fencing tokens, with lock holders paused past their session in the simulator", async () => {
    let caught: string | undefined;
    for (let seed = 1; seed <= 40 && caught === undefined; seed++) {
      const result = await runSystemSim({ seed, plantedBug: "fencingIgnored", faultKinds: ["pause-client"], safetyMs: 4_000 });
      caught = result.violations.find((v) => v.checker === "fencing")?.message;
    }
    expect(caught).toMatch(/stale token \d+ from .* accepted after token \d+/);
  }, 120_000);

  it("fails when two holders share a token or a stale token is accepted", () => {
    const honest = new FencedResource();
    honest.write("a#5", 5, 0);
    honest.write("b#9", 9, 1);
    expect(honest.write("a#5", 5, 2)).toBe(false);
    const ok = new Violations();
    checkFencing(honest.log, ok);
    expect(ok.ok).toBe(true);

    const ignoring = new FencedResource(true);
    ignoring.write("a#5", 5, 0);
    ignoring.write("b#9", 9, 1);
    ignoring.write("a#5", 5, 2);
    const stale = new Violations();
    checkFencing(ignoring.log, stale);
    expect(stale.list[0]?.message).toMatch(/stale token 5/);

    const shared = new Violations();
    checkFencing([{ holder: "a", token: 7, accepted: true, atMs: 0 }, { holder: "b", token: 7, accepted: true, atMs: 1 }], shared);
    expect(shared.list[0]?.message).toMatch(/token 7 used by two holders/);
  });
});
