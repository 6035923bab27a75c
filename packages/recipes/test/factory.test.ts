/**
 * Recipes without ceremony (issue 19): `recipes(client)` and the classes
 * construct with live defaults; the injected form stays for simulation.
 */
import { describe, expect, it } from "vitest";
import { liveRecipeEnv, recipes, Mutex, LeaderLatch, DistributedQueue, Barrier, ReadWriteLock, Semaphore, TreeCache, ConfigSubscription, AtomicCounter } from "../src/index.js";
import { openClient, recipeEnv, settle, withEnsemble } from "./sim-helpers.js";

describe("live defaults", () => {
  it("every live env gets its own OS-seeded random source and the real clock", () => {
    const draws = Array.from({ length: 8 }, () => liveRecipeEnv().random.int(2 ** 31));
    // Eight 31-bit draws from independently seeded sources: all equal only if the seed were fixed.
    expect(new Set(draws).size).toBeGreaterThan(1);
    const env = liveRecipeEnv();
    expect(Math.abs(env.clock.wallNow() - new Date().getTime())).toBeLessThan(60_000);
  });

  it("recipes(client) builds every recipe with no environment argument", () => {
    const client = { state: "connected", sessionId: 1 } as never;
    const r = recipes(client);
    expect(r.lock("/l")).toBeInstanceOf(Mutex);
    expect(r.readWriteLock("/rw")).toBeInstanceOf(ReadWriteLock);
    expect(r.semaphore("/s", 2)).toBeInstanceOf(Semaphore);
    expect(r.leaderLatch("/e")).toBeInstanceOf(LeaderLatch);
    expect(r.queue("/q")).toBeInstanceOf(DistributedQueue);
    expect(r.barrier("/b")).toBeInstanceOf(Barrier);
    expect(r.treeCache("/t")).toBeInstanceOf(TreeCache);
    expect(r.config("/c")).toBeInstanceOf(ConfigSubscription);
    expect(r.counter("/n")).toBeInstanceOf(AtomicCounter);
    expect(new Mutex(client, "/direct")).toBeInstanceOf(Mutex);
  });
});

describe("the injected form", () => {
  it("recipes(client, { env }) runs on the simulated clock, deterministically", async () => {
    await withEnsemble({ seed: 31 }, async (ensemble) => {
      const client = await openClient(ensemble, "factory");
      const r = recipes(client, { env: recipeEnv(ensemble, "factory") });
      const lock = r.lock("/locks/factory");
      const hold = await settle(ensemble, lock.acquire({ timeoutMs: 5_000 }));
      expect(hold.fencingToken).toBeGreaterThan(0);
      expect(lock.isHeld()).toBe(true);
      await settle(ensemble, lock.release());
      expect(lock.isHeld()).toBe(false);
    });
  });
});
