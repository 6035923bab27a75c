import { describe, expect, it } from "vitest";
import { ActorNameTaken, ActorSystem, SimScheduler, TimerLimitExceeded, memoryLogger, nullLogger } from "@corral/actors";
import type { ActorContext, Address, Behaviour } from "@corral/actors";

function makeSystem(sim: SimScheduler, nodeId = "n1", extra: { mailboxCapacity?: number; maxTimersPerActor?: number } = {}): ActorSystem {
  return new ActorSystem({
    nodeId,
    clock: sim.clockFor(nodeId),
    random: sim.random.fork(nodeId),
    logger: nullLogger,
    executor: sim.schedule,
    ...extra,
  });
}

type CollectorMessage = { readonly from: string; readonly n: number };

function collector(into: CollectorMessage[]): Behaviour<CollectorMessage> {
  return { receive: (_context, message) => void into.push(message) };
}

describe("ActorSystem (simulated)", () => {
  it("delivers local sends asynchronously and in per-sender order", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim);
    const received: CollectorMessage[] = [];
    const sink = system.spawn("sink", collector(received));
    type Go = { readonly go: true };
    const sender = (name: string): Behaviour<Go> => ({
      receive(context: ActorContext<Go>) {
        for (let n = 0; n < 500; n++) context.send(sink, { from: name, n });
      },
    });
    const a = system.spawn("a", sender("a"));
    const b = system.spawn("b", sender("b"));
    expect(a.tell({ go: true })).toBe(true);
    expect(b.tell({ go: true })).toBe(true);
    expect(received).toHaveLength(0);
    sim.runFor(1);
    expect(received).toHaveLength(1000);
    for (const name of ["a", "b"]) {
      expect(received.filter((m) => m.from === name).map((m) => m.n)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    }
    expect(system.stats().messagesHandled).toBe(1002);
  });

  it("handles one message at a time (no re-entrancy)", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim);
    let depth = 0;
    let maxDepth = 0;
    let handled = 0;
    const ref = system.spawn<number>("echo", {
      receive(context, n) {
        depth++;
        maxDepth = Math.max(maxDepth, depth);
        handled++;
        if (n > 0) context.send(context.self, n - 1);
        depth--;
      },
    });
    ref.tell(100);
    sim.runFor(1);
    expect(handled).toBe(101);
    expect(maxDepth).toBe(1);
  });

  it("fires named timers on the simulated clock; re-arming replaces, cancel prevents", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim);
    const fired: [string, number][] = [];
    type TimerMessage = { readonly kind: "start" } | { readonly kind: "fire"; readonly tag: string };
    system.spawn<TimerMessage>("timers", {
      started(context) {
        context.setTimer("t1", 100, { kind: "fire", tag: "t1-first" });
        context.setTimer("t1", 250, { kind: "fire", tag: "t1-second" });
        context.setTimer("t2", 50, { kind: "fire", tag: "t2" });
        context.setTimer("t3", 10, { kind: "fire", tag: "t3" });
        context.cancelTimer("t3");
      },
      receive(context, message) {
        if (message.kind === "fire") fired.push([message.tag, context.now()]);
      },
    });
    sim.runFor(1000);
    expect(fired).toEqual([
      ["t2", 50],
      ["t1-second", 250],
    ]);
  });

  it("bounds timers per actor with a typed error", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim, "n1", { maxTimersPerActor: 2 });
    let error: unknown;
    system.spawn<string>("t", {
      started(context) {
        context.setTimer("a", 1, "a");
        context.setTimer("b", 1, "b");
        context.setTimer("a", 2, "a");
        try {
          context.setTimer("c", 1, "c");
        } catch (caught) {
          error = caught;
        }
      },
      receive() {},
    });
    expect(error).toBeInstanceOf(TimerLimitExceeded);
  });

  it("drops, counts and logs on mailbox overflow; the sender sees false", () => {
    const sim = new SimScheduler(1);
    const logger = memoryLogger();
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger, executor: sim.schedule, mailboxCapacity: 3 });
    const received: number[] = [];
    const ref = system.spawn<number>("small", { receive: (_c, n) => void received.push(n) });
    const results = [1, 2, 3, 4, 5].map((n) => ref.tell(n));
    expect(results).toEqual([true, true, true, false, false]);
    sim.runFor(1);
    expect(received).toEqual([1, 2, 3]);
    expect(system.stats().mailboxOverflows).toBe(2);
    expect(logger.records.some((r) => r.level === "warn" && r.msg === "mailbox full: message dropped")).toBe(true);
    expect(ref.tell(6)).toBe(true);
    sim.runFor(1);
    expect(received).toEqual([1, 2, 3, 6]);
  });

  it("drops sends to unknown actors and refuses duplicate names", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim);
    system.spawn<number>("x", { receive() {} });
    expect(() => system.spawn<number>("x", { receive() {} })).toThrow(ActorNameTaken);
    const nowhere: Address = { node: "n1", actor: "nobody" };
    expect(system.tell(nowhere, 1)).toBe(false);
    expect(system.stats().unknownLocalActor).toBe(1);
    const remote: Address = { node: "n2", actor: "x" };
    expect(system.tell(remote, 1)).toBe(false);
    expect(system.stats().noCodec).toBe(1);
  });

  it("stops an actor: timers cancelled, later sends dropped, stopped() called", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim);
    const got: string[] = [];
    const ref = system.spawn<string>("s", {
      started: (context) => context.setTimer("t", 10, "timer"),
      receive(context, message) {
        got.push(message);
        if (message === "stop") context.stop();
      },
      stopped: () => void got.push("stopped"),
    });
    ref.tell("stop");
    ref.tell("after");
    sim.runFor(100);
    expect(got).toEqual(["stop", "stopped"]);
    expect(ref.tell("late")).toBe(false);
    expect(system.has("s")).toBe(false);
  });

  it("crashes loudly when an actor throws (default policy), and keeps running with stop-actor", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim);
    const ref = system.spawn<number>("bad", {
      receive() {
        throw new Error("boom");
      },
    });
    ref.tell(1);
    expect(() => sim.runFor(1)).toThrow("boom");
    expect(system.stats().actorFailures).toBe(1);
    expect(system.has("bad")).toBe(false);

    const sim2 = new SimScheduler(1);
    const tolerant = new ActorSystem({ nodeId: "n1", clock: sim2.clockFor("n1"), random: sim2.random, logger: nullLogger, executor: sim2.schedule, failurePolicy: "stop-actor" });
    const ok: number[] = [];
    tolerant.spawn<number>("bad", {
      receive() {
        throw new Error("boom");
      },
    }).tell(1);
    tolerant.spawn<number>("good", { receive: (_c, n) => void ok.push(n) }).tell(2);
    sim2.runFor(1);
    expect(ok).toEqual([2]);
  });

  it("gives actors deterministic random streams", () => {
    const draws = (seed: number): number[] => {
      const sim = new SimScheduler(seed);
      const system = makeSystem(sim);
      const out: number[] = [];
      system.spawn<number>("r", { receive: (context) => void out.push(context.random.int(1_000_000)) });
      for (let i = 0; i < 5; i++) system.tell({ node: "n1", actor: "r" }, i);
      sim.runFor(1);
      return out;
    };
    expect(draws(9)).toEqual(draws(9));
    expect(draws(9)).not.toEqual(draws(10));
  });
});
