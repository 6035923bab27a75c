import { describe, expect, it } from "vitest";
import {
  ActorSystem,
  DecodeFailure,
  EndpointInUse,
  FaultyNetwork,
  InMemoryNetwork,
  InvalidFaultCommand,
  SimScheduler,
  encodeActorFrame,
  encodeChannelWireFrame,
  nullLogger,
  readInt,
  readObject,
  readString,
} from "@corral/actors";
import type { Codec, NetworkEndpoint } from "@corral/actors";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);

interface Harness {
  sim: SimScheduler;
  memory: InMemoryNetwork;
  faulty: FaultyNetwork;
  received: Map<string, string[]>;
  endpoints: Map<string, NetworkEndpoint>;
}

function harness(seed: number, ids: string[], latency = { latencyMsMin: 1, latencyMsMax: 3 }): Harness {
  const sim = new SimScheduler(seed);
  const memory = new InMemoryNetwork(sim, latency);
  const faulty = new FaultyNetwork(memory, { clock: sim.clockFor("faults"), random: sim.random.fork("faults") });
  const received = new Map<string, string[]>();
  const endpoints = new Map<string, NetworkEndpoint>();
  for (const id of ids) {
    received.set(id, []);
    endpoints.set(id, faulty.wrap(memory.openSync(id, (from, frame) => received.get(id)!.push(`${from}:${decoder.decode(frame)}`))));
  }
  return { sim, memory, faulty, received, endpoints };
}

function sendNumbered(h: Harness, from: string, to: string, count: number, prefix = ""): void {
  for (let i = 0; i < count; i++) h.endpoints.get(from)!.send(to, bytes(`${prefix}${i}`));
}

describe("InMemoryNetwork", () => {
  it("delivers after a seeded latency, in per-link order, deterministically", () => {
    const run = (seed: number): { got: string[]; hash: string } => {
      const h = harness(seed, ["a", "b", "c"]);
      sendNumbered(h, "a", "b", 50, "a");
      sendNumbered(h, "c", "b", 50, "c");
      expect(h.received.get("b")).toEqual([]);
      h.sim.runFor(1000);
      return { got: h.received.get("b")!, hash: h.sim.traceHash() };
    };
    const first = run(5);
    expect(first.got).toHaveLength(100);
    const fromA = first.got.filter((s) => s.startsWith("a:")).map((s) => Number(s.slice(3)));
    expect(fromA).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(run(5)).toEqual(first);
    expect(run(6).hash).not.toBe(first.hash);
  });

  it("drops oversized frames and frames to closed endpoints, and refuses a second open", async () => {
    const sim = new SimScheduler(1);
    const memory = new InMemoryNetwork(sim, { maxFrameBytes: 8 });
    const got: string[] = [];
    const a = memory.openSync("a", () => {});
    const b = memory.openSync("b", (_from, frame) => got.push(decoder.decode(frame)));
    expect(() => memory.openSync("a", () => {})).toThrow(EndpointInUse);
    await expect(memory.open("a", () => {})).rejects.toBeInstanceOf(EndpointInUse);
    a.send("b", bytes("123456789"));
    a.send("b", bytes("ok"));
    a.send("nobody", bytes("x"));
    sim.runFor(10);
    expect(got).toEqual(["ok"]);
    expect(a.stats()).toMatchObject({ framesSent: 2, framesDropped: 1 });
    expect(b.stats()).toMatchObject({ framesReceived: 1, bytesReceived: 2 });
    expect(memory.networkStats().framesUndeliverable).toBe(1);
    a.send("b", bytes("late"));
    await b.close();
    sim.runFor(10);
    expect(got).toEqual(["ok"]);
    expect(memory.networkStats().framesUndeliverable).toBe(2);
  });
});

describe("FaultyNetwork", () => {
  it("drops everything on a link with drop=1 and nothing elsewhere", () => {
    const h = harness(1, ["a", "b", "c"]);
    expect(h.faulty.apply({ kind: "set-link-faults", from: "a", to: "b", drop: 1 })).toBeUndefined();
    sendNumbered(h, "a", "b", 20);
    sendNumbered(h, "a", "c", 20);
    sendNumbered(h, "b", "a", 20);
    h.sim.runFor(100);
    expect(h.received.get("b")).toHaveLength(0);
    expect(h.received.get("c")).toHaveLength(20);
    expect(h.received.get("a")).toHaveLength(20);
    expect(h.faulty.faultStats().dropped).toBe(20);
  });

  it("partitions into groups and heals", () => {
    const h = harness(1, ["n1", "n2", "n3", "c1"]);
    h.faulty.apply({ kind: "partition", groups: [["n1", "n2"], ["n3"]] });
    sendNumbered(h, "n1", "n2", 3);
    sendNumbered(h, "n1", "n3", 3);
    sendNumbered(h, "n3", "n1", 3);
    sendNumbered(h, "c1", "n3", 3); // in no group: reaches everyone
    sendNumbered(h, "n3", "c1", 3);
    h.sim.runFor(100);
    expect(h.received.get("n2")).toHaveLength(3);
    expect(h.received.get("n3")).toHaveLength(3);
    expect(h.received.get("n1")).toHaveLength(0);
    expect(h.received.get("c1")).toHaveLength(3);
    expect(h.faulty.faultStats().partitioned).toBe(6);
    h.faulty.apply({ kind: "heal" });
    sendNumbered(h, "n1", "n3", 3);
    h.sim.runFor(100);
    expect(h.received.get("n3")).toHaveLength(6);
  });

  it("blocks one direction only (asymmetric), and unblocks", () => {
    const h = harness(1, ["a", "b"]);
    h.faulty.apply({ kind: "block", from: "a", to: "b" });
    sendNumbered(h, "a", "b", 5);
    sendNumbered(h, "b", "a", 5);
    h.sim.runFor(100);
    expect(h.received.get("b")).toHaveLength(0);
    expect(h.received.get("a")).toHaveLength(5);
    expect(h.faulty.faultStats().blocked).toBe(5);
    h.faulty.apply({ kind: "unblock", from: "a", to: "b" });
    sendNumbered(h, "a", "b", 5);
    h.sim.runFor(100);
    expect(h.received.get("b")).toHaveLength(5);
  });

  it("duplicates frames", () => {
    const h = harness(1, ["a", "b"]);
    h.faulty.apply({ kind: "set-link-faults", from: "*", to: "*", duplicate: 1 });
    sendNumbered(h, "a", "b", 10);
    h.sim.runFor(100);
    const got = h.received.get("b")!;
    expect(got).toHaveLength(20);
    for (let i = 0; i < 10; i++) expect(got.filter((s) => s === `a:${i}`)).toHaveLength(2);
    expect(h.faulty.faultStats().duplicated).toBe(10);
  });

  it("reorders frames but loses none", () => {
    const h = harness(3, ["a", "b"], { latencyMsMin: 1, latencyMsMax: 1 });
    h.faulty.apply({ kind: "set-link-faults", from: "a", to: "b", reorder: 0.3 });
    for (let i = 0; i < 200; i++) h.sim.after(i, "send", () => h.endpoints.get("a")!.send("b", bytes(String(i))));
    h.sim.runFor(1000);
    const got = h.received.get("b")!.map((s) => Number(s.slice(2)));
    expect([...got].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(got).not.toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(h.faulty.faultStats().reordered).toBeGreaterThan(20);
  });

  it("delays frames within the configured range", () => {
    const h = harness(1, ["a", "b"], { latencyMsMin: 0, latencyMsMax: 0 });
    h.faulty.apply({ kind: "set-link-faults", from: "a", to: "b", delayMsMin: 50, delayMsMax: 60 });
    sendNumbered(h, "a", "b", 10);
    h.sim.runFor(49);
    expect(h.received.get("b")).toHaveLength(0);
    h.sim.runFor(11);
    expect(h.received.get("b")).toHaveLength(10);
    expect(h.faulty.faultStats().delayed).toBe(10);
  });

  it("rejects malformed commands with a typed error and changes nothing", () => {
    const h = harness(1, ["a", "b"]);
    const bad: unknown[] = [
      null,
      { kind: "explode" },
      { kind: "set-link-faults", from: "a", to: "b", drop: 1.5 },
      { kind: "set-link-faults", from: "a", to: "b", delayMsMin: 10, delayMsMax: 5 },
      { kind: "partition", groups: [["a", 3]] },
      { kind: "block", from: "", to: "b" },
    ];
    for (const command of bad) expect(h.faulty.apply(command)).toBeInstanceOf(InvalidFaultCommand);
    sendNumbered(h, "a", "b", 3);
    h.sim.runFor(100);
    expect(h.received.get("b")).toHaveLength(3);
    expect(h.faulty.faultStats().commandsRejected).toBe(bad.length);
  });
});

type Ping = { readonly n: number; readonly text: string };
const pingCodec: Codec<Ping> = {
  encode: (m) => ({ n: m.n, text: m.text }),
  decode: (u) => {
    const object = readObject(u);
    if (object instanceof DecodeFailure) return object;
    const n = readInt(object, "n", { min: 0, max: 1_000_000 });
    if (n instanceof DecodeFailure) return n;
    const text = readString(object, "text", { maxLength: 100 });
    if (text instanceof DecodeFailure) return text;
    return { n, text };
  },
};

describe("ActorSystem over the network", () => {
  function twoNodes(seed: number, maxFrameBytes = 1024) {
    const sim = new SimScheduler(seed);
    const memory = new InMemoryNetwork(sim);
    const codecs = new Map([["sink", pingCodec as Codec<unknown>]]);
    const make = (nodeId: string): ActorSystem => {
      const system = new ActorSystem({ nodeId, clock: sim.clockFor(nodeId), random: sim.random.fork(nodeId), logger: nullLogger, executor: sim.schedule, codecs, clusterTag: "test", maxFrameBytes });
      // Unsealed frames, trusted as authenticated: this tests the frame layer, not peer-auth (peer-auth.test.ts).
      system.attachEndpoint(memory.openSync(nodeId, (from, bytes) => system.handleFrame(from, bytes, true)));
      return system;
    };
    const n1 = make("n1");
    const n2 = make("n2");
    const got: [Ping, string | undefined][] = [];
    n2.spawn<Ping>("sink", { receive: (_c, message, from) => void got.push([message, from && `${from.actor}@${from.node}`]) });
    const raw = memory.openSync("raw", () => {});
    return { sim, n1, n2, got, raw };
  }

  it("sends typed messages to a remote actor through its codec, in order", () => {
    const { sim, n1, got } = twoNodes(1);
    n1.spawn<Ping>("src", {
      started(context) {
        for (let n = 0; n < 100; n++) context.send({ node: "n2", actor: "sink" }, { n, text: `m${n}` });
      },
      receive() {},
    });
    sim.runFor(100);
    expect(got.map(([m]) => m.n)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got[0]![1]).toBe("src@n1");
    expect(n1.stats().remoteSends).toBe(100);
  });

  it("drops malformed, oversized, foreign, spoofed, unknown-actor and invalid frames, counting each, never throwing", () => {
    const { sim, n1, n2, got, raw } = twoNodes(1, 256);
    const send = (frame: Uint8Array): void => raw.send("n2", frame);
    send(bytes("not json"));
    send(new Uint8Array([0xff, 0xfe, 0x00]));
    send(bytes("[1,2,3]"));
    send(bytes(JSON.stringify({ v: 2, c: "test", k: "a", t: "sink", f: ["raw", "x"], b: {} })));
    send(bytes(JSON.stringify({ v: 1, c: "test", k: "a", t: "sink", f: ["raw"], b: {} })));
    send(bytes(JSON.stringify({ v: 1, c: "other", k: "a", t: "sink", f: ["raw", "x"], b: { n: 1, text: "" } })));
    send(bytes(JSON.stringify({ v: 1, k: "a", t: "sink", f: ["raw", "x"], b: { n: 1, text: "" } })));
    send(bytes("x".repeat(300)));
    send(bytes(JSON.stringify({ v: 1, c: "test", k: "a", t: "sink", f: ["n1", "x"], b: { n: 1, text: "" } })));
    send(bytes(JSON.stringify({ v: 1, c: "test", k: "a", t: "nobody", f: ["raw", "x"], b: { n: 1, text: "" } })));
    send(bytes(JSON.stringify({ v: 1, c: "test", k: "a", t: "sink", f: ["raw", "x"], b: { n: -1, text: "" } })));
    send(encodeChannelWireFrame({ anything: 1 }, { clusterTag: "test" }) as Uint8Array);
    send(encodeActorFrame("sink", { node: "raw", actor: "x" }, { n: 7, text: "valid" }, { clusterTag: "test" }) as Uint8Array);
    expect(() => sim.runFor(100)).not.toThrow();
    expect(got.map(([m]) => m)).toEqual([{ n: 7, text: "valid" }]);
    expect(n2.stats()).toMatchObject({
      framesReceived: 13,
      framesMalformed: 5,
      framesForeign: 2,
      framesTooLarge: 1,
      framesSpoofed: 1,
      framesUnknownActor: 1,
      framesInvalidBody: 1,
      framesNoChannelHandler: 1,
    });
    // Sender side: an oversized message is refused before it reaches the network.
    n1.spawn<Ping>("big", {
      started(context) {
        expect(context.send({ node: "n2", actor: "sink" }, { n: 1, text: "y".repeat(100) })).toBe(true);
        expect(context.send({ node: "n2", actor: "sink" }, { n: 1, text: "y".repeat(300) })).toBe(false);
      },
      receive() {},
    });
    expect(n1.stats().sendFrameTooLarge).toBe(1);
  });
});
