/**
 * Issue 15 item 1: mailbox bounds. Ordinary messages stop at the ordinary
 * bound with a typed, counted outcome; self-sends, timer firings and
 * critical feeds may use the reserve above it and are never refused for a
 * full mailbox; a used-up reserve is fatal, never silent. And the
 * simulator's interleaved executor mode, in which a timer can meet a full
 * mailbox as it can live.
 */
import { describe, expect, it } from "vitest";
import {
  ActorSystem,
  InvariantViolation,
  MailboxReserveExhausted,
  SendOutcome,
  SimScheduler,
  encodeActorFrame,
  memoryLogger,
  nullLogger,
  type ActorContext,
  type Behaviour,
  type Codec,
  type ExecutorMode,
} from "@corral/actors";

function makeSystem(sim: SimScheduler, extra: { mailboxCapacity?: number; reservedCapacity?: number; failurePolicy?: "throw" | "stop-actor"; onFatal?: (error: MailboxReserveExhausted) => void } = {}): ActorSystem {
  return new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random.fork("n1"), logger: nullLogger, executor: sim.schedule, ...extra });
}

describe("mailbox bounds: ordinary messages, the reserve, fatal exhaustion", () => {
  it("refuses ordinary messages at the bound with a typed outcome and counts them", () => {
    const sim = new SimScheduler(1);
    const system = makeSystem(sim, { mailboxCapacity: 2, reservedCapacity: 4 });
    const got: number[] = [];
    const ref = system.spawn<number>("sink", { receive: (_c, n) => void got.push(n) });
    expect([1, 2, 3].map((n) => system.offer(ref, n))).toEqual([SendOutcome.sent, SendOutcome.sent, SendOutcome.mailboxFull]);
    expect(ref.tell(4)).toBe(false);
    expect(system.offer({ node: "n1", actor: "nobody" }, 1)).toBe(SendOutcome.unknownActor);
    expect(system.offer({ node: "n2", actor: "sink" }, 1)).toBe(SendOutcome.noCodec);
    sim.runFor(1);
    expect(got).toEqual([1, 2]);
    expect(system.stats()).toMatchObject({ mailboxOverflows: 2, reservedAdmissions: 0, reserveExhausted: 0 });
  });

  it("queues self-sends and timer firings above the ordinary bound, in arrival order", () => {
    const sim = new SimScheduler(2);
    // Drains run only when the test says so: the mailbox stays exactly as full as the sends left it.
    const drains: (() => void)[] = [];
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger: nullLogger, executor: (task) => drains.push(task), mailboxCapacity: 1, reservedCapacity: 2 });
    const got: string[] = [];
    const selfOutcomes: SendOutcome[] = [];
    const ref = system.spawn<string>("a", {
      started: (context) => context.setTimer("tick", 1, "tick"),
      receive(context, message) {
        got.push(message);
        if (message === "x") selfOutcomes.push(context.offer(context.self, "self"));
      },
    });
    expect(ref.tell("x")).toBe(true);
    expect(ref.tell("y")).toBe(false); // ordinary: at the bound
    sim.runFor(2); // the tick fires while the mailbox is at its bound: into the reserve
    expect(system.stats().reservedAdmissions).toBe(1);
    for (let task = drains.shift(); task !== undefined; task = drains.shift()) task();
    expect(got).toEqual(["x", "tick", "self"]);
    expect(selfOutcomes).toEqual([SendOutcome.sent]);
    expect(system.stats()).toMatchObject({ mailboxOverflows: 1, reservedAdmissions: 2, reserveExhausted: 0 });
  });

  it("lets a critical feed from another local actor use the reserve; a remote one is a bug", () => {
    const sim = new SimScheduler(3);
    const drains: (() => void)[] = [];
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger: nullLogger, executor: (task) => drains.push(task), mailboxCapacity: 2, reservedCapacity: 1 });
    const got: string[] = [];
    const sink = system.spawn<string>("sink", { receive: (_c, m) => void got.push(m) });
    const outcomes: SendOutcome[] = [];
    let remoteError: unknown;
    const feeder = system.spawn<"go">("feeder", {
      receive(context) {
        outcomes.push(context.offer(sink, "ordinary"));
        outcomes.push(context.sendCritical(sink, "critical"));
        try {
          context.sendCritical({ node: "n2", actor: "sink" }, "remote");
        } catch (error) {
          remoteError = error;
        }
      },
    });
    // The feeder is ready first, so it runs while the sink's mailbox is at its bound.
    feeder.tell("go");
    sink.tell("1");
    sink.tell("2");
    for (let task = drains.shift(); task !== undefined; task = drains.shift()) task();
    expect(outcomes).toEqual([SendOutcome.mailboxFull, SendOutcome.sent]);
    expect(remoteError).toBeInstanceOf(InvariantViolation);
    expect(got).toEqual(["1", "2", "critical"]);
    expect(system.stats()).toMatchObject({ mailboxOverflows: 1, reservedAdmissions: 1, reserveExhausted: 0 });
  });

  it("a runaway self-sender that uses up the reserve is fatal: stopped, counted, logged, reported and thrown", () => {
    const sim = new SimScheduler(4);
    const logger = memoryLogger();
    const fatal: MailboxReserveExhausted[] = [];
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger, executor: sim.schedule, mailboxCapacity: 4, reservedCapacity: 4, onFatal: (error) => void fatal.push(error) });
    system.spawn<"go">("runaway", {
      receive(context) {
        for (let i = 0; i < 100; i++) context.send(context.self, "go");
      },
    }).tell("go");
    expect(() => sim.runFor(1)).toThrow(MailboxReserveExhausted);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ _tag: "MailboxReserveExhausted", code: "MAILBOX_RESERVE_EXHAUSTED", actor: "runaway", source: "self", mailboxCapacity: 4, reservedCapacity: 4 });
    expect(system.has("runaway")).toBe(false);
    expect(system.stats().reserveExhausted).toBe(1);
    expect(logger.records.some((r) => r.level === "fatal" && r.msg?.startsWith("mailbox reserve exhausted"))).toBe(true);
  });

  it("under failure policy stop-actor a used-up reserve stops the actor and reports `stopped` instead of throwing", () => {
    const sim = new SimScheduler(5);
    const system = makeSystem(sim, { mailboxCapacity: 2, reservedCapacity: 2, failurePolicy: "stop-actor" });
    const outcomes: SendOutcome[] = [];
    system.spawn<"go">("runaway", {
      receive(context) {
        for (let i = 0; i < 6; i++) outcomes.push(context.offer(context.self, "go"));
      },
    }).tell("go");
    sim.runFor(1);
    expect(outcomes.slice(0, 4)).toEqual([SendOutcome.sent, SendOutcome.sent, SendOutcome.sent, SendOutcome.sent]);
    expect(outcomes[4]).toBe(SendOutcome.stopped);
    expect(system.has("runaway")).toBe(false);
    expect(system.stats().reserveExhausted).toBe(1);
  });

  it("counts network frames refused for a full mailbox", () => {
    const sim = new SimScheduler(6);
    const codec: Codec<unknown> = { encode: (m) => m, decode: (u) => u };
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger: nullLogger, executor: sim.schedule, codecs: new Map([["sink", codec]]), clusterTag: "t", mailboxCapacity: 1 });
    system.spawn<unknown>("sink", { receive() {} });
    const frame = encodeActorFrame("sink", { node: "n2", actor: "x" }, { n: 1 }, { clusterTag: "t", maxFrameBytes: 65_536 }) as Uint8Array;
    system.handleFrame("n2", frame, true);
    system.handleFrame("n2", frame, true);
    expect(system.stats()).toMatchObject({ framesMailboxFull: 1, mailboxOverflows: 1 });
  });
});

describe("SimScheduler executor modes", () => {
  /** One actor with a 10 ms timer and a mailbox of 8; a backlog of `flood` arrives at t=9.9. Does a firing meet a full mailbox? */
  function timerMeetsFullMailbox(mode: ExecutorMode, seed: number): { timerQueuedAboveBound: number; handled: string[] } {
    const sim = new SimScheduler(seed, { executorMode: mode });
    const system = new ActorSystem({ nodeId: "n1", clock: sim.clockFor("n1"), random: sim.random, logger: nullLogger, executor: sim.schedule, mailboxCapacity: 8, messagesPerDrain: 4, messagesPerActorTurn: 4 });
    const handled: string[] = [];
    const behaviour: Behaviour<string> = {
      started: (context: ActorContext<string>) => context.setTimer("tick", 10, "tick"),
      receive(context, message) {
        handled.push(message);
        if (message === "tick") context.setTimer("tick", 10, "tick");
      },
    };
    const ref = system.spawn("a", behaviour);
    sim.after(9.9, "flood", () => {
      while (ref.tell("m"));
    });
    sim.runFor(25);
    return { timerQueuedAboveBound: system.stats().reservedAdmissions, handled };
  }

  it("instant mode drains a backlog before any later timer fires; interleaved mode lets the timer meet it", () => {
    const instant = timerMeetsFullMailbox({ kind: "instant" }, 7);
    expect(instant.timerQueuedAboveBound).toBe(0);
    expect(instant.handled.indexOf("tick")).toBe(8); // after the whole backlog
    const interleaved = timerMeetsFullMailbox({ kind: "interleaved", drainDelayMsMax: 1 }, 7);
    expect(interleaved.timerQueuedAboveBound).toBe(1);
    expect(interleaved.handled.filter((m) => m === "tick")).toHaveLength(2); // the clock kept going
  });

  it("interleaved tasks run in the order they were scheduled, after seeded delays, and replay from the seed", () => {
    const run = (seed: number): { order: number[]; times: number[]; hash: string } => {
      const sim = new SimScheduler(seed, { executorMode: { kind: "interleaved", drainDelayMsMax: 3 } });
      const order: number[] = [];
      const times: number[] = [];
      for (let i = 0; i < 20; i++) sim.schedule(() => (order.push(i), times.push(sim.now())));
      sim.runFor(100);
      return { order, times, hash: sim.traceHash() };
    };
    const a = run(11);
    expect(a.order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(a.times.every((t, i) => i === 0 || t >= a.times[i - 1]!)).toBe(true);
    expect(a.times[a.times.length - 1]!).toBeGreaterThan(0);
    expect(run(11)).toEqual(a);
    expect(run(12).hash).not.toBe(a.hash);
  });
});
