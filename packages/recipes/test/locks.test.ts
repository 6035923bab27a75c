import { describe, expect, it } from "vitest";
import { FencedResource, Mutex, NotHeld, ReadWriteLock, RecipeAborted, RecipeTimeout, Semaphore } from "../src/index.js";
import { failure, fakeWorld, run, runFor, runUntil, track } from "./helpers.js";

describe("Mutex (fake client)", () => {
  it("is exclusive and hands tokens out in increasing order; the resource refuses a stale holder", async () => {
    const world = fakeWorld(1);
    const resource = new FencedResource<string>();
    let inside = 0;
    let maxInside = 0;
    const worker = async (name: string): Promise<void> => {
      const client = world.zk.connect();
      const mutex = new Mutex(client, "/locks/a", world.env(name));
      for (let i = 0; i < 3; i++) {
        const hold = await mutex.acquire({ timeoutMs: 60_000 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        expect(resource.write(hold.fencingToken, name)).toBe(true);
        await Promise.resolve();
        inside--;
        await mutex.release();
      }
    };
    await run(world, Promise.all(["a", "b", "c", "d"].map(worker)));
    expect(maxInside).toBe(1);
    expect(resource.accepted).toHaveLength(12);
    const tokens = resource.accepted.map((r) => r.token);
    expect([...tokens].sort((x, y) => x - y)).toEqual(tokens);
    expect(resource.write(tokens[0]!, "stale")).toBe(false);
    expect(resource.refused).toBe(1);
  });

  it("is re-entrant per instance and release without hold is NotHeld", async () => {
    const world = fakeWorld(2);
    const client = world.zk.connect();
    const mutex = new Mutex(client, "/locks/r", world.env("r"));
    const first = await run(world, mutex.acquire());
    const second = await run(world, mutex.acquire());
    expect(second.fencingToken).toBe(first.fencingToken);
    expect(mutex.holdCount).toBe(2);
    await run(world, mutex.release());
    expect(mutex.isHeld()).toBe(true);
    await run(world, mutex.release());
    expect(mutex.isHeld()).toBe(false);
    expect((await run(world, client.getChildren("/locks/r"))).children).toEqual([]);
    expect(await failure(world, mutex.release())).toBeInstanceOf(NotHeld);
  });

  it("herd effect: with 50 waiters, a release delivers exactly one watch event and wakes one waiter", async () => {
    const world = fakeWorld(3);
    const holder = new Mutex(world.zk.connect(), "/locks/herd", world.env("holder"));
    await run(world, holder.acquire());
    const waiters = Array.from({ length: 50 }, (_, i) => new Mutex(world.zk.connect(), "/locks/herd", world.env(`w${i}`)));
    const pending = waiters.map((m) => track(m.acquire()));
    await runFor(world, 10);
    expect(pending.every((p) => p.outcome() === undefined)).toBe(true);
    const before = world.zk.watchEventsDelivered;
    await run(world, holder.release());
    await runUntil(world, () => pending.some((p) => p.outcome() !== undefined));
    await runFor(world, 10);
    expect(world.zk.watchEventsDelivered - before).toBe(1);
    expect(pending.filter((p) => p.outcome() !== undefined)).toHaveLength(1);
    expect(waiters.reduce((sum, m) => sum + m.wakeups, 0)).toBe(1);
    expect(pending[0]!.outcome()?.ok).toBe(true);
  });

  it("times out and aborts, leaving no node behind", async () => {
    const world = fakeWorld(4);
    const client = world.zk.connect();
    await run(world, new Mutex(world.zk.connect(), "/locks/t", world.env("h")).acquire());
    const mutex = new Mutex(client, "/locks/t", world.env("t"));
    expect(await failure(world, mutex.acquire({ timeoutMs: 500 }))).toBeInstanceOf(RecipeTimeout);
    const controller = new AbortController();
    const aborted = track(mutex.acquire({ signal: controller.signal }));
    await runFor(world, 5);
    controller.abort();
    await runUntil(world, () => aborted.outcome() !== undefined);
    expect((aborted.outcome() as { error: unknown }).error).toBeInstanceOf(RecipeAborted);
    expect((await run(world, client.getChildren("/locks/t"))).children).toHaveLength(1);
  });

  it("recovers a create whose reply was lost (protected mode): no orphan node, lock acquired", async () => {
    const world = fakeWorld(5);
    const client = world.zk.connect();
    client.loseNextReply((op, path) => op === "create" && path.includes("-lock-"));
    const mutex = new Mutex(client, "/locks/p", world.env("p"));
    const hold = await run(world, mutex.acquire());
    const { children } = await run(world, client.getChildren("/locks/p"));
    expect(children).toHaveLength(1);
    expect(hold.path.endsWith(children[0]!)).toBe(true);
  });

  it("session expiry: the old holder's signal aborts, the next holder gets a larger token, the stale write is refused", async () => {
    const world = fakeWorld(6);
    const resource = new FencedResource();
    const a = world.zk.connect();
    const b = world.zk.connect();
    const holdA = await run(world, new Mutex(a, "/locks/x", world.env("a")).acquire());
    const next = track(new Mutex(b, "/locks/x", world.env("b")).acquire());
    a.expire();
    await runUntil(world, () => next.outcome() !== undefined);
    const holdB = (next.outcome() as { value: { fencingToken: number } }).value;
    expect(holdA.signal.aborted).toBe(true);
    expect(resource.write(holdB.fencingToken)).toBe(true);
    expect(resource.write(holdA.fencingToken)).toBe(false);
  });
});

describe("ReadWriteLock (fake client)", () => {
  it("readers share, writers exclude, and they never overlap", async () => {
    const world = fakeWorld(7);
    let readers = 0;
    let writers = 0;
    let maxReaders = 0;
    const violations: string[] = [];
    const worker = async (name: string, writer: boolean): Promise<void> => {
      const lock = new ReadWriteLock(world.zk.connect(), "/locks/rw", world.env(name));
      for (let i = 0; i < 3; i++) {
        if (writer) {
          await lock.acquireWrite();
          writers++;
          if (writers > 1 || readers > 0) violations.push(`${name} wrote with ${writers} writers ${readers} readers`);
          await new Promise((r) => world.sim.clockFor(name).setTimer(5, () => r(undefined)));
          writers--;
          await lock.releaseWrite();
        } else {
          await lock.acquireRead();
          readers++;
          maxReaders = Math.max(maxReaders, readers);
          if (writers > 0) violations.push(`${name} read during a write`);
          await new Promise((r) => world.sim.clockFor(name).setTimer(5, () => r(undefined)));
          readers--;
          await lock.releaseRead();
        }
      }
    };
    await run(world, Promise.all([worker("r1", false), worker("w1", true), worker("r2", false), worker("r3", false), worker("w2", true)]));
    expect(violations).toEqual([]);
    expect(maxReaders).toBeGreaterThan(1);
  });

  it("a reader waits only for the nearest earlier writer", async () => {
    const world = fakeWorld(8);
    const r0 = new ReadWriteLock(world.zk.connect(), "/locks/rw2", world.env("r0"));
    await run(world, r0.acquireRead());
    const w = new ReadWriteLock(world.zk.connect(), "/locks/rw2", world.env("w"));
    const wHold = track(w.acquireWrite());
    await runFor(world, 5);
    const r1 = new ReadWriteLock(world.zk.connect(), "/locks/rw2", world.env("r1"));
    const rHold = track(r1.acquireRead());
    await runFor(world, 5);
    expect(wHold.outcome()).toBeUndefined();
    expect(rHold.outcome()).toBeUndefined();
    await run(world, r0.releaseRead());
    await runUntil(world, () => wHold.outcome() !== undefined);
    expect(rHold.outcome()).toBeUndefined();
    await run(world, w.releaseWrite());
    await runUntil(world, () => rHold.outcome() !== undefined);
    expect(rHold.outcome()?.ok).toBe(true);
  });
});

describe("Semaphore (fake client)", () => {
  it("never lets more than maxLeases in", async () => {
    const world = fakeWorld(9);
    let inside = 0;
    let maxInside = 0;
    const worker = async (name: string): Promise<void> => {
      const semaphore = new Semaphore(world.zk.connect(), "/sem/a", 2, world.env(name));
      for (let i = 0; i < 3; i++) {
        const lease = await semaphore.acquire();
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => world.sim.clockFor(name).setTimer(3, () => r(undefined)));
        inside--;
        await lease.release();
      }
    };
    await run(world, Promise.all(["a", "b", "c", "d", "e"].map(worker)));
    expect(maxInside).toBe(2);
  });
});
