import { describe, expect, it } from "vitest";
import type { Client } from "@corral/client";
import {
  AtomicCounter,
  Barrier,
  ChildrenCache,
  ConfigSubscription,
  DistributedQueue,
  DoubleBarrier,
  FencedResource,
  GroupMember,
  GroupMembership,
  IdAllocator,
  LeaderLatch,
  LeaderSelector,
  ManagedSessions,
  PriorityQueue,
  RecipeTimeout,
  ServiceDiscovery,
  ServiceProvider,
  ServiceRegistry,
  ThreePhaseCommit,
  TransactionParticipant,
  TreeCache,
  TwoPhaseCommit,
  type CacheEvent,
  type Decision,
} from "../src/index.js";
import { failure, fakeWorld, run, runFor, runUntil, track } from "./helpers.js";

const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

describe("config centre (fake client)", () => {
  it("ConfigSubscription: value at start, then every change, never stale; survives session expiry via ManagedSessions", async () => {
    const world = fakeWorld(11);
    const writer = world.zk.connect();
    await run(world, writer.create("/config", ""));
    await run(world, writer.create("/config/db", "v1"));
    const sessions = await run(world, ManagedSessions.start(async () => world.zk.connect(), world.env("sessions")));
    const subscription = new ConfigSubscription(sessions, "/config/db", world.env("sub"));
    const seen: (string | undefined)[] = [];
    subscription.subscribe((v) => seen.push(v?.text));
    expect((await run(world, subscription.start()))?.text).toBe("v1");
    await run(world, writer.setData("/config/db", "v2"));
    await runUntil(world, () => subscription.current()?.text === "v2");
    (sessions.current() as unknown as { expire(): void }).expire();
    await run(world, writer.setData("/config/db", "v3"));
    await runUntil(world, () => subscription.current()?.text === "v3");
    await run(world, writer.delete("/config/db"));
    await runUntil(world, () => subscription.current() === undefined);
    expect(seen.filter((v) => v !== undefined)).toEqual(expect.arrayContaining(["v2", "v3"]));
    expect(seen[seen.length - 1]).toBeUndefined();
  });

  it("TreeCache: initial sync signal, added/updated/removed events, resync after reconnect", async () => {
    const world = fakeWorld(12);
    const writer = world.zk.connect();
    await run(world, writer.create("/app", ""));
    await run(world, writer.create("/app/a", "1"));
    const client = world.zk.connect();
    const cache = new TreeCache(client, "/app", world.env("cache"));
    const events: string[] = [];
    cache.on("event", (e: CacheEvent) => events.push(e.type === "initialized" ? "init" : `${e.type}:${e.path}`));
    await run(world, cache.start());
    expect(events).toEqual(["added:/app", "added:/app/a", "init"]);
    await run(world, writer.create("/app/a/b", "x"));
    await run(world, writer.setData("/app/a", "2"));
    await runUntil(world, () => text(cache.get("/app/a")?.data) === "2" && cache.get("/app/a/b") !== undefined);
    client.disconnect();
    await run(world, writer.delete("/app/a/b"));
    await run(world, writer.create("/app/c", "y"));
    client.reconnect();
    await runUntil(world, () => cache.get("/app/c") !== undefined && cache.get("/app/a/b") === undefined);
    expect(events).toEqual(expect.arrayContaining(["added:/app/a/b", "updated:/app/a", "removed:/app/a/b", "added:/app/c"]));
  });

  it("ChildrenCache sees children come and go", async () => {
    const world = fakeWorld(13);
    const client = world.zk.connect();
    await run(world, client.create("/kids", ""));
    const cache = new ChildrenCache(client, "/kids", world.env("c"));
    await run(world, cache.start());
    await run(world, client.create("/kids/x", "1"));
    await runUntil(world, () => cache.children().has("x"));
    await run(world, client.delete("/kids/x"));
    await runUntil(world, () => cache.children().size === 0);
  });
});

describe("ids, counter (fake client)", () => {
  it("IdAllocator gives unique typed ids, one or a batch", async () => {
    const world = fakeWorld(14);
    const ids = new IdAllocator(world.zk.connect(), world.env("ids"));
    const one = await run(world, ids.allocate("type2"));
    expect(one).toMatch(/^type2-job-\d{10}$/);
    const batch = await run(world, ids.allocateBatch("type2", 5));
    expect(new Set([one, ...batch]).size).toBe(6);
    expect(batch).toEqual([...batch].sort());
  });

  it("AtomicCounter: concurrent increments all count; a lost reply is OutcomeUnknown, not a double count", async () => {
    const world = fakeWorld(15);
    const counters = Array.from({ length: 5 }, () => new AtomicCounter(world.zk.connect(), "/counters/c"));
    await run(world, Promise.all(counters.flatMap((c) => [c.increment(), c.increment(), c.add(3)])));
    expect(await run(world, counters[0]!.get())).toBe(25);
    expect(await run(world, counters[0]!.compareAndSet(25, 100))).toBe(true);
    expect(await run(world, counters[0]!.compareAndSet(25, 7))).toBe(false);
    const lossy = world.zk.connect();
    lossy.loseNextReply((op) => op === "setData");
    const error = await failure(world, new AtomicCounter(lossy, "/counters/c").increment());
    expect((error as { _tag: string })._tag).toBe("OutcomeUnknown");
    expect(await run(world, counters[0]!.get())).toBe(101);
  });
});

describe("queues (fake client)", () => {
  it("FIFO: concurrent consumers with lost replies lose and duplicate nothing", async () => {
    const world = fakeWorld(16);
    const producer = new DistributedQueue(world.zk.connect(), "/q/fifo", world.env("p"));
    for (let i = 0; i < 40; i++) await run(world, producer.put(`item-${i}`));
    const got: string[] = [];
    const consumer = async (name: string): Promise<void> => {
      const client = world.zk.connect();
      const queue = new DistributedQueue(client, "/q/fifo", world.env(name), { consumerId: name });
      for (let i = 0; ; i++) {
        if (i % 3 === 0) client.loseNextReply((op) => op === "multi" || op === "delete");
        const item = await queue.poll();
        if (item === undefined) {
          if ((await queue.size()) === 0 && (await queue.poll()) === undefined) return;
          continue;
        }
        got.push(text(item));
      }
    };
    await run(world, Promise.all(["c1", "c2", "c3"].map(consumer)));
    expect(got).toHaveLength(40);
    expect(new Set(got).size).toBe(40);
  });

  it("FIFO order for one consumer; take waits for an item and times out when empty", async () => {
    const world = fakeWorld(17);
    const client = world.zk.connect();
    const queue = new DistributedQueue(client, "/q/order", world.env("q"));
    for (const v of ["a", "b", "c"]) await run(world, queue.put(v));
    expect([text(await run(world, queue.take())), text(await run(world, queue.take())), text(await run(world, queue.take()))]).toEqual(["a", "b", "c"]);
    expect(await failure(world, queue.take({ timeoutMs: 100 }))).toBeInstanceOf(RecipeTimeout);
    const waiting = track(queue.take());
    await runFor(world, 10);
    await run(world, new DistributedQueue(world.zk.connect(), "/q/order", world.env("p")).put("late"));
    await runUntil(world, () => waiting.outcome() !== undefined);
    expect(text((waiting.outcome() as { value: Uint8Array }).value)).toBe("late");
  });

  it("PriorityQueue: lower priority first, FIFO within one", async () => {
    const world = fakeWorld(18);
    const queue = new PriorityQueue(world.zk.connect(), "/q/prio", world.env("q"));
    await run(world, queue.put("low", 5));
    await run(world, queue.put("high1", 1));
    await run(world, queue.put("high2", 1));
    const out = [];
    for (let i = 0; i < 3; i++) out.push(text(await run(world, queue.take())));
    expect(out).toEqual(["high1", "high2", "low"]);
  });

  it("Barrier and DoubleBarrier", async () => {
    const world = fakeWorld(19);
    const barrier = new Barrier(world.zk.connect(), "/barriers/b", world.env("b"));
    await run(world, barrier.set());
    const waiter = track(new Barrier(world.zk.connect(), "/barriers/b", world.env("w")).wait());
    await runFor(world, 10);
    expect(waiter.outcome()).toBeUndefined();
    await run(world, barrier.remove());
    await runUntil(world, () => waiter.outcome() !== undefined);
    expect(waiter.outcome()?.ok).toBe(true);

    const entered: string[] = [];
    const members = ["m1", "m2", "m3"].map((id) => new DoubleBarrier(world.zk.connect(), "/barriers/d", 3, id, world.env(id)));
    const first = members.slice(0, 2).map((m) => track(m.enter().then(() => entered.push(m.memberId))));
    await runFor(world, 10);
    expect(entered).toEqual([]);
    await run(world, members[2]!.enter());
    await runUntil(world, () => first.every((p) => p.outcome() !== undefined));
    expect(entered).toHaveLength(2);
    await run(world, Promise.all(members.map((m) => m.leave())));
  });
});

describe("leader election (fake client)", () => {
  it("LeaderLatch: one leader at a time; leadership moves on expiry with a larger token; notLeader fires", async () => {
    const world = fakeWorld(20);
    const clients = [world.zk.connect(), world.zk.connect(), world.zk.connect()];
    const latches = clients.map((c, i) => new LeaderLatch(c, "/election/a", world.env(`l${i}`)));
    const lost: number[] = [];
    latches.forEach((l, i) => l.on("notLeader", () => lost.push(i)));
    await run(world, Promise.all(latches.map((l) => l.start())));
    const firstTerm = await run(world, latches[0]!.await());
    await runFor(world, 10);
    expect(latches.filter((l) => l.hasLeadership())).toHaveLength(1);
    clients[0]!.expire();
    await runUntil(world, () => latches[1]!.hasLeadership());
    expect(lost).toEqual([0]);
    expect(latches[1]!.currentTerm()!.fencingToken).toBeGreaterThan(firstTerm.fencingToken);
    expect(latches.filter((l) => l.hasLeadership())).toHaveLength(1);
    await run(world, latches[1]!.close());
    await runUntil(world, () => latches[2]!.hasLeadership());
  });

  it("LeaderLatch drops leadership on disconnect and regains it on reconnect", async () => {
    const world = fakeWorld(21);
    const client = world.zk.connect();
    const latch = new LeaderLatch(client, "/election/b", world.env("l"));
    await run(world, latch.start());
    await runUntil(world, () => latch.hasLeadership());
    client.disconnect();
    await runUntil(world, () => !latch.hasLeadership());
    client.reconnect();
    await runUntil(world, () => latch.hasLeadership());
  });

  it("LeaderSelector: terms never overlap; each term's token is unique and accepted by the fenced resource", async () => {
    const world = fakeWorld(22);
    const resource = new FencedResource<string>();
    let active = 0;
    let overlaps = 0;
    const selectors = ["s1", "s2", "s3"].map(
      (name) =>
        new LeaderSelector(world.zk.connect(), "/election/sel", world.env(name), async (term) => {
          active++;
          if (active > 1) overlaps++;
          expect(resource.write(term.fencingToken, name)).toBe(true);
          await new Promise((r) => world.sim.clockFor(name).setTimer(20, () => r(undefined)));
          active--;
        }),
    );
    selectors.forEach((s) => s.start());
    await runUntil(world, () => selectors.reduce((sum, s) => sum + s.terms, 0) >= 9);
    await Promise.all(selectors.map((s) => s.close()));
    expect(overlaps).toBe(0);
    const tokens = resource.accepted.map((r) => r.token);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});

describe("discovery and membership (fake client)", () => {
  it("registry re-registers after session expiry; discovery and provider follow instances", async () => {
    const world = fakeWorld(23);
    const sessions = await run(world, ManagedSessions.start(async () => world.zk.connect(), world.env("s")));
    const registry = new ServiceRegistry(sessions, world.env("r"));
    await run(world, registry.register({ name: "api", id: "a1", address: "10.0.0.1", port: 80 }));
    await run(world, registry.register({ name: "api", id: "a2", address: "10.0.0.2", port: 80 }));
    const discovery = new ServiceDiscovery(world.zk.connect(), "api", world.env("d"));
    await run(world, discovery.start());
    expect(discovery.instances().map((i) => i.id)).toEqual(["a1", "a2"]);
    const roundRobin = new ServiceProvider(discovery, "round-robin", world.env("p"));
    expect([roundRobin.getInstance()?.id, roundRobin.getInstance()?.id, roundRobin.getInstance()?.id]).toEqual(["a1", "a2", "a1"]);
    const sticky = new ServiceProvider(discovery, "sticky", world.env("st"));
    const stuck = sticky.getInstance()!.id;
    expect(sticky.getInstance()!.id).toBe(stuck);
    const random = new ServiceProvider(discovery, "random", world.env("rnd"));
    expect(["a1", "a2"]).toContain(random.getInstance()?.id);

    (sessions.current() as unknown as { expire(): void }).expire();
    await runUntil(world, () => discovery.instances().length === 0);
    await runUntil(world, () => discovery.instances().length === 2);
    await run(world, registry.unregister("api", stuck));
    await runUntil(world, () => discovery.instances().length === 1);
    expect(sticky.getInstance()!.id).not.toBe(stuck);
  });

  it("group membership: join/leave events", async () => {
    const world = fakeWorld(24);
    const membership = new GroupMembership(world.zk.connect(), "/groups/g", world.env("m"));
    await run(world, world.zk.connect().create("/groups", "")) ;
    await run(world, world.zk.connect().create("/groups/g", ""));
    await run(world, membership.start());
    const joins: string[] = [];
    const leaves: string[] = [];
    membership.on("join", (m) => joins.push(m.id));
    membership.on("leave", (m) => leaves.push(m.id));
    const c1 = world.zk.connect();
    await run(world, new GroupMember(c1, "/groups/g", "m1", world.env("1")).join());
    const member2 = new GroupMember(world.zk.connect(), "/groups/g", "m2", world.env("2"));
    await run(world, member2.join());
    await runUntil(world, () => membership.members().length === 2);
    c1.expire();
    await run(world, member2.leave());
    await runUntil(world, () => membership.members().length === 0);
    expect(joins).toEqual(["m1", "m2"]);
    expect(leaves.sort()).toEqual(["m1", "m2"]);
  });
});

describe("two- and three-phase commit (fake client)", () => {
  async function runTx(seed: number, protocol: "2pc" | "3pc", votes: boolean[], coordinatorDies: "never" | "before-decision"): Promise<Decision[]> {
    const world = fakeWorld(seed);
    const coordinatorClient = world.zk.connect();
    const names = votes.map((_, i) => `p${i}`);
    const Coordinator = protocol === "2pc" ? TwoPhaseCommit : ThreePhaseCommit;
    const coordinator = new Coordinator(coordinatorClient, world.env("coord"), { voteTimeoutMs: 1_000 });
    // Start the coordinator; when it must die, it dies once the tx exists (before any decision).
    const coordinatorRun = track(coordinator.run("tx1", names));
    if (coordinatorDies === "before-decision") {
      await runUntil(world, () => world.zk.nodes.has("/tx/tx1/votes"));
      await coordinatorClient.close();
    }
    const participants = names.map((n) => new TransactionParticipant(world.zk.connect(), n, world.env(n), { decisionTimeoutMs: 3_000 }));
    const all = await run(world, Promise.all(participants.map((p, i) => p.voteAndAwait("tx1", votes[i]!))));
    if (coordinatorDies === "before-decision") {
      // A recovery coordinator finishes it and agrees.
      const recovered = await run(world, new Coordinator(world.zk.connect(), world.env("rec")).finish("tx1"));
      all.push(recovered);
    } else {
      await runUntil(world, () => coordinatorRun.outcome() !== undefined);
      all.push((coordinatorRun.outcome() as { value: Decision }).value);
    }
    return all;
  }

  for (const protocol of ["2pc", "3pc"] as const) {
    it(`${protocol}: all yes commits; any no aborts; everyone agrees`, async () => {
      expect(new Set(await runTx(31, protocol, [true, true, true], "never"))).toEqual(new Set(["commit"]));
      expect(new Set(await runTx(32, protocol, [true, false, true], "never"))).toEqual(new Set(["abort"]));
    });
    it(`${protocol}: the coordinator dies mid-protocol; participants and a recovery coordinator reach the same decision`, async () => {
      const decisions = await runTx(33, protocol, [true, true, true], "before-decision");
      expect(new Set(decisions).size).toBe(1);
    });
  }

  it("2pc: a missing vote times out into abort for everyone", async () => {
    const world = fakeWorld(34);
    const coordinator = track(new TwoPhaseCommit(world.zk.connect(), world.env("c"), { voteTimeoutMs: 500 }).run("tx2", ["a", "b"]));
    await runUntil(world, () => world.zk.nodes.has("/tx/tx2/votes"));
    const a = await run(world, new TransactionParticipant(world.zk.connect(), "a", world.env("a")).voteAndAwait("tx2", true));
    await runUntil(world, () => coordinator.outcome() !== undefined);
    expect(a).toBe("abort");
    expect((coordinator.outcome() as { value: Decision }).value).toBe("abort");
  });
});

export type { Client };
