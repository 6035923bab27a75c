import { describe, expect, it } from "vitest";
import {
  ChannelClosed,
  ChannelFull,
  ChannelPeerSilent,
  ChannelReset,
  DecodeFailure,
  FaultyNetwork,
  InMemoryNetwork,
  ReliableChannel,
  SimScheduler,
  channelFrameCodec,
  decodeFrame,
  encodeChannelWireFrame,
  isDecodeFailure,
  isFrameError,
} from "@corral/actors";
import type { ChannelFailure, ChannelFrame, Codec, ReliableChannelLimits } from "@corral/actors";

interface LossyLink {
  drop: number;
  duplicate: number;
  latencyMsMax: number;
  up: boolean;
}

/** Two channels joined by a seeded lossy, duplicating, reordering link on the simulator. */
function pair(sim: SimScheduler, link: LossyLink, limits: Partial<ReliableChannelLimits> = {}) {
  const random = sim.random.fork("link");
  const deliveredAtB: number[] = [];
  const deliveredAtA: number[] = [];
  const failures: ChannelFailure[] = [];
  const channels: { a?: ReliableChannel<number>; b?: ReliableChannel<number> } = {};
  const carry = (to: () => ReliableChannel<number> | undefined, label: string) => (frame: ChannelFrame<number>) => {
    if (!link.up || random.chance(link.drop)) return;
    const copies = random.chance(link.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) sim.after(random.intBetween(1, link.latencyMsMax), label, () => to()?.receive(frame));
  };
  const clockA = sim.clockFor("a");
  const clockB = sim.clockFor("b");
  const a = new ReliableChannel<number>({ clock: clockA, channelId: "ch1", send: carry(() => channels.b, "to-b"), onDeliver: (m) => void deliveredAtA.push(m), onFailure: (f) => void failures.push(f), limits });
  const b = new ReliableChannel<number>({ clock: clockB, channelId: "ch1", send: carry(() => channels.a, "to-a"), onDeliver: (m) => void deliveredAtB.push(m), onFailure: (f) => void failures.push(f), limits });
  channels.a = a;
  channels.b = b;
  return { a, b, deliveredAtA, deliveredAtB, failures };
}

function assertExactlyOnceInOrder(delivered: number[], count: number): void {
  expect(delivered.length).toBe(count);
  for (let i = 0; i < count; i++) {
    if (delivered[i] !== i) expect.fail(`position ${i}: expected ${i}, got ${delivered[i]}`);
  }
}

describe("ReliableChannel", () => {
  it("delivers 10,000 messages in order, exactly once, under 20% loss + duplication + reordering, for 50 seeds", () => {
    const count = 10_000;
    const limits = { maxInFlight: 256, maxQueued: count, maxReceiveBuffer: 256, initialRetransmitMs: 50, minRetransmitMs: 10 };
    let totalRetransmissions = 0;
    let maxVirtualMs = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const sim = new SimScheduler(seed);
      const { a, b, deliveredAtB, deliveredAtA, failures } = pair(sim, { drop: 0.2, duplicate: 0.1, latencyMsMax: 10, up: true }, limits);
      let refused = 0;
      for (let i = 0; i < count; i++) if (a.send(i) !== true) refused++;
      // Some traffic the other way at the same time.
      for (let i = 0; i < 100; i++) if (b.send(i) !== true) refused++;
      expect(refused).toBe(0);
      const done = sim.runUntil(() => deliveredAtB.length === count && deliveredAtA.length === 100 && a.stats().inFlight === 0, 600_000);
      if (!done) expect.fail(`seed ${seed}: not done (delivered ${deliveredAtB.length})`);
      assertExactlyOnceInOrder(deliveredAtB, count);
      assertExactlyOnceInOrder(deliveredAtA, 100);
      expect(failures).toEqual([]);
      const stats = b.stats();
      expect(stats.duplicatesReceived).toBeGreaterThan(0);
      totalRetransmissions += a.stats().retransmissions;
      maxVirtualMs = Math.max(maxVirtualMs, sim.now());
      a.close();
      b.close();
    }
    expect(totalRetransmissions).toBeGreaterThan(50 * count * 0.2);
    expect(maxVirtualMs).toBeLessThan(600_000);
  });

  it("works end to end as wire frames over FaultyNetwork + InMemoryNetwork", async () => {
    const count = 2000;
    for (const seed of [1, 2, 3]) {
      const sim = new SimScheduler(seed);
      const memory = new InMemoryNetwork(sim, { latencyMsMin: 1, latencyMsMax: 5 });
      const faulty = new FaultyNetwork(memory, { clock: sim.clockFor("faults"), random: sim.random.fork("faults") });
      faulty.apply({ kind: "set-link-faults", from: "*", to: "*", drop: 0.2, duplicate: 0.1, reorder: 0.2 });
      const numberCodec: Codec<number> = { encode: (n) => n, decode: (u) => (typeof u === "number" && Number.isSafeInteger(u) ? u : new DecodeFailure("expected an integer")) };
      const frames = channelFrameCodec(numberCodec);
      const options = { clusterTag: "t" };
      const delivered: number[] = [];
      const channels = new Map<string, ReliableChannel<number>>();
      const open = (id: string, peer: string, onDeliver: (n: number) => void) => {
        const endpoint = faulty.wrap(
          memory.openSync(id, (_from, bytes) => {
            const frame = decodeFrame(bytes, options);
            if (isFrameError(frame) || frame.k !== "r") return;
            const decoded = frames.decode(frame.payload);
            if (isDecodeFailure(decoded)) return;
            channels.get(id)?.receive(decoded);
          }),
        );
        channels.set(
          id,
          new ReliableChannel<number>({
            clock: sim.clockFor(id),
            channelId: "c-1",
            send: (frame) => endpoint.send(peer, encodeChannelWireFrame(frames.encode(frame), options) as Uint8Array),
            onDeliver,
            onFailure: () => expect.fail("unexpected failure"),
            limits: { maxQueued: count, initialRetransmitMs: 50 },
          }),
        );
      };
      open("client", "node", () => {});
      open("node", "client", (n) => void delivered.push(n));
      for (let i = 0; i < count; i++) channels.get("client")!.send(i);
      expect(sim.runUntil(() => delivered.length === count, 600_000)).toBe(true);
      assertExactlyOnceInOrder(delivered, count);
      expect(faulty.faultStats().reordered).toBeGreaterThan(0);
      await faulty.close();
    }
  });

  it("retransmits backed-off frames as soon as the peer is heard from again after a partition", () => {
    const sim = new SimScheduler(7);
    const link = { drop: 0, duplicate: 0, latencyMsMax: 2, up: false };
    // heartbeats every 1 s; backoff may grow to 5 s while the link is down.
    const { a, deliveredAtB, failures } = pair(sim, link, { initialRetransmitMs: 50, minRetransmitMs: 10, maxRetransmitMs: 5_000, heartbeatIntervalMs: 1_000, peerSilentMs: 60_000 });
    expect(a.send(1)).toBe(true);
    sim.runFor(8_000); // 50, 100, ... ms: the frame's timeout has backed off to seconds
    expect(deliveredAtB).toEqual([]);
    link.up = true;
    const healedAt = sim.now();
    // The peer's next heartbeat (<= 1 s) tells the sender it is back; delivery follows within a few RTTs,
    // instead of waiting out the backed-off timeout.
    expect(sim.runUntil(() => deliveredAtB.length === 1, 10_000)).toBe(true);
    expect(sim.now() - healedAt).toBeLessThan(1_100);
    expect(failures).toEqual([]);
  });

  it("is deterministic: same seed, same trace", () => {
    const run = (seed: number): string => {
      const sim = new SimScheduler(seed);
      const { a, deliveredAtB } = pair(sim, { drop: 0.2, duplicate: 0.1, latencyMsMax: 10, up: true }, { maxQueued: 1000 });
      for (let i = 0; i < 1000; i++) a.send(i);
      sim.runUntil(() => deliveredAtB.length === 1000, 600_000);
      return `${sim.traceHash()}:${sim.now()}`;
    };
    expect(run(11)).toBe(run(11));
    expect(run(11)).not.toBe(run(12));
  });

  it("applies backpressure when the window and the queue are full, and signals when writable again", () => {
    const sim = new SimScheduler(1);
    const link = { drop: 0, duplicate: 0, latencyMsMax: 5, up: true };
    let writable = 0;
    const random = sim.random.fork("x");
    const peer: { b?: ReliableChannel<number> } = {};
    const delivered: number[] = [];
    const a = new ReliableChannel<number>({
      clock: sim.clockFor("a"),
      channelId: "bp",
      send: (frame) => {
        if (link.up) sim.after(random.intBetween(1, 5), "to-b", () => peer.b?.receive(frame));
      },
      onDeliver: () => {},
      onFailure: () => {},
      onWritable: () => void writable++,
      limits: { maxInFlight: 4, maxQueued: 4, maxReceiveBuffer: 4 },
    });
    peer.b = new ReliableChannel<number>({ clock: sim.clockFor("b"), channelId: "bp", send: (frame) => void sim.after(1, "to-a", () => a.receive(frame)), onDeliver: (m) => void delivered.push(m), onFailure: () => {}, limits: { maxReceiveBuffer: 4, maxInFlight: 4 } });
    const results = Array.from({ length: 10 }, (_, i) => a.send(i));
    expect(results.slice(0, 8)).toEqual(Array(8).fill(true));
    expect(results[8]).toBeInstanceOf(ChannelFull);
    expect(results[9]).toBeInstanceOf(ChannelFull);
    expect((results[8] as ChannelFull).code).toBe("CHANNEL_FULL");
    expect(a.capacity()).toBe(0);
    expect(a.stats()).toMatchObject({ inFlight: 4, queued: 4 });
    sim.runUntil(() => delivered.length === 8, 10_000);
    expect(delivered).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(writable).toBeGreaterThanOrEqual(1);
    expect(a.send(8)).toBe(true);
    void link;
  });

  it("fails with ChannelPeerSilent when the peer stays silent past the deadline; then refuses sends", () => {
    const sim = new SimScheduler(1);
    const link = { drop: 0, duplicate: 0, latencyMsMax: 3, up: true };
    const { a, b, failures, deliveredAtB } = pair(sim, link, { heartbeatIntervalMs: 100, peerSilentMs: 1000 });
    a.send(1);
    sim.runFor(5000);
    // Heartbeats keep an idle but healthy channel alive.
    expect(failures).toEqual([]);
    expect(deliveredAtB).toEqual([1]);
    expect(a.stats().heartbeatsSent).toBeGreaterThan(10);
    link.up = false;
    const cutAt = sim.now();
    sim.runUntil(() => failures.length === 2, 10_000);
    expect(failures).toHaveLength(2);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(ChannelPeerSilent);
      expect((failure as ChannelPeerSilent).silentMs).toBeGreaterThanOrEqual(1000);
    }
    expect(sim.now() - cutAt).toBeLessThanOrEqual(1000 + 10);
    expect(a.state).toBe("failed");
    expect(a.send(2)).toBeInstanceOf(ChannelClosed);
    // A failed channel leaves no timers behind.
    expect(sim.pendingEvents).toBe(0);
    void b;
  });

  it("accepts a channel opened by a peer, resets unknown ones, and reopens with a new id", () => {
    const sim = new SimScheduler(1);
    const hostChannels = new Map<string, ReliableChannel<string>>();
    const atHost: string[] = [];
    const clientFailures: ChannelFailure[] = [];
    let client: ReliableChannel<string>;
    const toClient = (frame: ChannelFrame<string>): void => void sim.after(1, "to-client", () => client.receive(frame));
    const hostReceive = (frame: ChannelFrame<string>): void => {
      let channel = hostChannels.get(frame.i);
      if (channel === undefined) {
        if (!ReliableChannel.canOpen(frame)) {
          toClient(ReliableChannel.resetFrame(frame.i));
          return;
        }
        const id = frame.i;
        // The host answers every message, so the client's frames acknowledge host data (a > 0).
        const created: ReliableChannel<string> = new ReliableChannel<string>({
          clock: sim.clockFor("host"),
          channelId: id,
          send: toClient,
          onDeliver: (m) => {
            atHost.push(`${id}:${m}`);
            created.send(`re:${m}`);
          },
          onFailure: () => {},
        });
        channel = created;
        hostChannels.set(frame.i, channel);
      }
      channel.receive(frame);
    };
    const toHost = (frame: ChannelFrame<string>): void => void sim.after(1, "to-host", () => hostReceive(frame));
    client = new ReliableChannel<string>({ clock: sim.clockFor("client"), channelId: "c1", send: toHost, onDeliver: () => {}, onFailure: (f) => void clientFailures.push(f) });
    client.send("hello");
    client.send("world");
    sim.runFor(100);
    expect(atHost).toEqual(["c1:hello", "c1:world"]);

    // The host forgets the channel (restart): the client's next frames are refused with a reset.
    hostChannels.clear();
    client.send("again");
    sim.runFor(100);
    expect(clientFailures).toHaveLength(1);
    expect(clientFailures[0]).toBeInstanceOf(ChannelReset);

    // Failover: a fresh channel with a new id, carrying what was never acknowledged.
    client = client.reopen({ channelId: "c2", carryPending: true });
    client.send("more");
    sim.runFor(100);
    expect(atHost).toEqual(["c1:hello", "c1:world", "c2:again", "c2:more"]);
  });

  it("ignores frames for another channel and acks for data never sent", () => {
    const sim = new SimScheduler(1);
    const sent: ChannelFrame<number>[] = [];
    const delivered: number[] = [];
    const channel = new ReliableChannel<number>({ clock: sim.clockFor("a"), channelId: "x", send: (f) => void sent.push(f), onDeliver: (m) => void delivered.push(m), onFailure: () => {} });
    channel.receive({ t: "d", i: "other", s: 1, a: 0, b: 5 });
    channel.receive({ t: "k", i: "x", a: 99 });
    channel.receive({ t: "d", i: "x", s: 1, a: 7, b: 6 });
    channel.receive({ t: "d", i: "x", s: 1_000_000, a: 0, b: 7 });
    expect(delivered).toEqual([]);
    expect(channel.stats()).toMatchObject({ invalidFrames: 3, beyondWindowDropped: 1 });
    channel.receive({ t: "d", i: "x", s: 1, a: 0, b: 8 });
    expect(delivered).toEqual([8]);
  });
});
