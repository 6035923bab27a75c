/**
 * Locks on the simulated ensemble with faults, judged by checkers that are
 * shown to catch the bug they guard against (a planted broken mutex).
 */
import { describe, expect, it } from "vitest";
import type { Client } from "@corral/client";
import { Deadline, FencedResource, Mutex, ReadWriteLock, Semaphore, type LockHold, type RecipeEnv } from "../src/index.js";
import { acquireNode } from "../src/lock-internals.js";
import { HoldRecorder, clientIdOf, openClient, outcome, pause, recipeEnv, settle, withEnsemble, type SimEnsemble } from "./sim-helpers.js";

const SEEDS = [11, 12, 13];
const LOSSY = { drop: 0.02, duplicate: 0.02, reorder: 0.02 };

/** Crash the Raft leader after `afterMs`, restart it `downMs` later. */
async function crashLeader(ensemble: SimEnsemble, afterMs: number, downMs: number): Promise<void> {
  await ensemble.runFor(afterMs);
  const leader = ensemble.leader();
  if (leader === undefined) return;
  await ensemble.crash(leader.id);
  await ensemble.runFor(downMs);
  await ensemble.restart(leader.id);
}

/** A planted bug: a "mutex" that creates its node but never waits for its predecessor. */
class BrokenMutex {
  private hold: (LockHold & { client: Client }) | undefined;
  constructor(
    private readonly client: Client,
    private readonly path: string,
    private readonly env: RecipeEnv,
  ) {}
  async acquire(): Promise<LockHold> {
    const deadline = new Deadline(this.env.clock, "broken acquire", { timeoutMs: 30_000 });
    const node = await acquireNode({ current: () => this.client, onNewClient: () => () => undefined }, this.env, this.path, "lock-", () => ({ acquired: true }), deadline, (n) => /-lock-\d{10}$/.test(n));
    this.hold = { path: node.path, fencingToken: node.stat.czxid, signal: new AbortController().signal, client: node.client };
    return this.hold;
  }
  async release(): Promise<void> {
    if (this.hold !== undefined) await this.hold.client.delete(this.hold.path);
    this.hold = undefined;
  }
}

interface Locker {
  acquire(): Promise<LockHold>;
  release(): Promise<void>;
}

/** Workers each take the lock `rounds` times, write to the fenced resource on entry and on exit, and hold for a while. */
async function runExclusive(ensemble: SimEnsemble, lockers: readonly { name: string; lock: Locker; env: RecipeEnv }[], rounds: number, faults?: Promise<void>): Promise<{ recorder: HoldRecorder; resource: FencedResource<string> }> {
  const recorder = new HoldRecorder(() => ensemble.sim.now());
  const resource = new FencedResource<string>();
  const work = lockers.map(async ({ name, lock, env }) => {
    for (let i = 0; i < rounds; i++) {
      const hold = await lock.acquire();
      const interval = recorder.enter(name, "exclusive");
      resource.write(hold.fencingToken, `${name}:${i}:enter`);
      await pause(env, 5 + env.random.int(20));
      resource.write(hold.fencingToken, `${name}:${i}:exit`);
      recorder.exit(interval);
      await lock.release();
    }
  });
  await settle(ensemble, Promise.all([...work, faults ?? Promise.resolve()]), 150_000);
  return { recorder, resource };
}

describe("locks on the simulated ensemble with faults", () => {
  it.each(SEEDS)("read-write lock: readers and writers never overlap under loss and a leader crash (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: LOSSY }, async (ensemble) => {
      const recorder = new HoldRecorder(() => ensemble.sim.now());
      const roles = ["r1", "r2", "r3", "w1", "w2"];
      const workers = await Promise.all(
        roles.map(async (name) => {
          const env = recipeEnv(ensemble, name);
          return { name, env, lock: new ReadWriteLock(await openClient(ensemble, name, { sessionTimeoutMs: 4_000 }), "/locks/rw", env) };
        }),
      );
      let reads = 0;
      let writesDone = 0;
      const work = workers.map(async ({ name, env, lock }) => {
        const writer = name.startsWith("w");
        for (let i = 0; i < 3; i++) {
          if (writer) await lock.acquireWrite({ timeoutMs: 60_000 });
          else await lock.acquireRead({ timeoutMs: 60_000 });
          const interval = recorder.enter(name, writer ? "write" : "read");
          await pause(env, 10 + env.random.int(30));
          recorder.exit(interval);
          if (writer) {
            writesDone++;
            await lock.releaseWrite();
          } else {
            reads++;
            await lock.releaseRead();
          }
        }
      });
      await settle(ensemble, Promise.all([...work, crashLeader(ensemble, 150, 500)]), 150_000);
      expect(recorder.violations).toEqual([]);
      expect(reads).toBe(9);
      expect(writesDone).toBe(6);
      // Readers did share the lock: the read side is not secretly exclusive.
      expect(recorder.maxConcurrent).toBeGreaterThan(1);
    });
  });

  it.each(SEEDS)("semaphore: never more than maxLeases holders under loss and a leader crash (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: LOSSY }, async (ensemble) => {
      const recorder = new HoldRecorder(() => ensemble.sim.now());
      const names = ["s1", "s2", "s3", "s4", "s5"];
      const workers = await Promise.all(
        names.map(async (name) => {
          const env = recipeEnv(ensemble, name);
          return { name, env, semaphore: new Semaphore(await openClient(ensemble, name, { sessionTimeoutMs: 4_000 }), "/sem/db", 2, env) };
        }),
      );
      let leases = 0;
      const work = workers.map(async ({ name, env, semaphore }) => {
        for (let i = 0; i < 2; i++) {
          const lease = await semaphore.acquire({ timeoutMs: 60_000 });
          const interval = recorder.enter(name, "read");
          await pause(env, 20 + env.random.int(30));
          recorder.exit(interval);
          leases++;
          await lease.release();
        }
      });
      await settle(ensemble, Promise.all([...work, crashLeader(ensemble, 200, 500)]), 150_000);
      expect(leases).toBe(10);
      expect(recorder.maxConcurrent).toBeLessThanOrEqual(2);
      expect(recorder.maxConcurrent).toBe(2);
    });
  });

  it.each(SEEDS)("mutex under loss and a leader crash: no overlap, the fenced resource refuses nothing (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: LOSSY }, async (ensemble) => {
      const lockers = await Promise.all(
        ["a", "b", "c"].map(async (name) => {
          const env = recipeEnv(ensemble, name);
          const mutex = new Mutex(await openClient(ensemble, name, { sessionTimeoutMs: 4_000 }), "/locks/m", env);
          return { name, env, lock: { acquire: () => mutex.acquire({ timeoutMs: 60_000 }), release: () => mutex.release() } };
        }),
      );
      const { recorder, resource } = await runExclusive(ensemble, lockers, 3, crashLeader(ensemble, 100, 400));
      expect(recorder.violations).toEqual([]);
      expect(resource.refused).toBe(0);
      expect(resource.accepted.length).toBe(18);
    });
  });

  it.each(SEEDS)("mutex: the holder's node is cut off until its session expires; the next holder gets a larger token and the old holder's writes are refused (seed %i)", async (seed) => {
    await withEnsemble({ seed }, async (ensemble) => {
      const leader = ensemble.leader()!;
      const [isolatedNode, ...rest] = ensemble.nodeIds.filter((id) => id !== leader.id);
      const majority = [leader.id, ...rest];
      const holderClient = await openClient(ensemble, "holder", { nodes: [isolatedNode!] });
      const nextClient = await openClient(ensemble, "next", { nodes: majority });
      const holderEnv = recipeEnv(ensemble, "holder");
      const holder = new Mutex(holderClient, "/locks/fenced", holderEnv);
      const next = new Mutex(nextClient, "/locks/fenced", recipeEnv(ensemble, "next"));
      const resource = new FencedResource<string>();

      const first = await settle(ensemble, holder.acquire({ timeoutMs: 10_000 }));
      expect(resource.write(first.fencingToken, "holder")).toBe(true);
      // The holder and its node end up in the minority: its session expires on the majority side.
      ensemble.partition([[isolatedNode!, clientIdOf(holderClient)], [...majority, clientIdOf(nextClient)]]);
      const second = await settle(ensemble, next.acquire({ timeoutMs: 30_000 }), 40_000);
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      expect(resource.write(second.fencingToken, "next")).toBe(true);
      // The old holder, paused behind the partition, still believes it holds: the resource refuses it.
      expect(resource.write(first.fencingToken, "stale holder")).toBe(false);
      expect(resource.refused).toBe(1);
      expect(resource.accepted.map((r) => r.value)).toEqual(["holder", "next"]);
      ensemble.heal();
      await ensemble.runUntil(() => holderClient.state === "expired", 30_000);
      expect(holderClient.state).toBe("expired");
      // After expiry the old holder's hold is doubtful (signal aborted) and a new acquire queues behind "next".
      expect(first.signal.aborted).toBe(true);
      await settle(ensemble, next.release());
    });
  });

  it("checker catches a planted broken mutex (no wait for the predecessor): overlap and a refused stale token", async () => {
    await withEnsemble({ seed: 19 }, async (ensemble) => {
      const lockers = await Promise.all(
        ["a", "b", "c"].map(async (name) => {
          const env = recipeEnv(ensemble, name);
          return { name, env, lock: new BrokenMutex(await openClient(ensemble, name), "/locks/broken", env) };
        }),
      );
      const { recorder, resource } = await runExclusive(ensemble, lockers, 3);
      expect(recorder.violations.length).toBeGreaterThan(0);
      expect(resource.refused).toBeGreaterThan(0);
    });
  });

  it("the overlap checker catches a reader that ignores writers", async () => {
    await withEnsemble({ seed: 20 }, async (ensemble) => {
      const recorder = new HoldRecorder(() => ensemble.sim.now());
      const env = recipeEnv(ensemble, "w");
      const rw = new ReadWriteLock(await openClient(ensemble, "w"), "/locks/rw-broken", env);
      await settle(ensemble, rw.acquireWrite());
      const writing = recorder.enter("w", "write");
      // The planted bug: a "reader" that reads without taking the read lock.
      const reading = recorder.enter("r", "read");
      recorder.exit(reading);
      recorder.exit(writing);
      await settle(ensemble, rw.releaseWrite());
      expect(recorder.violations.length).toBe(1);
      // And the real read lock waits for the writer.
      await settle(ensemble, rw.acquireWrite());
      const reader = new ReadWriteLock(await openClient(ensemble, "r"), "/locks/rw-broken", recipeEnv(ensemble, "r"));
      const waiting = await outcome(ensemble, reader.acquireRead({ timeoutMs: 2_000 }));
      expect(waiting.ok).toBe(false);
    });
  });
});
