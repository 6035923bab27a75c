/**
 * Recipes against the simulated Corral ensemble (real nodes, real client) with
 * faults: message loss/duplication/reordering, a crashed leader, a partition,
 * a session expiry. Seeded; simulated time only.
 */
import { describe, expect, it } from "vitest";
import { CorralClient } from "@corral/client";
import { createSimEnsemble, type SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { DistributedQueue, FencedResource, LeaderLatch, Mutex, type RecipeEnv } from "../src/index.js";

async function settle<T>(ensemble: SimEnsemble, promise: Promise<T>, maxMs = 60_000): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await ensemble.runUntil(() => outcome !== undefined, maxMs);
  if (outcome === undefined) throw new Error(`not settled within ${maxMs} simulated ms`);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

async function client(ensemble: SimEnsemble, label: string): Promise<CorralClient> {
  return settle(ensemble, CorralClient.connectWith(ensemble.clientEnv(label), { nodes: ensemble.nodeIds, sessionTimeoutMs: 4_000, requestTimeoutMs: 10_000 }));
}

function env(ensemble: SimEnsemble, label: string): RecipeEnv {
  const e = ensemble.clientEnv(`recipe:${label}`);
  return { clock: e.clock, random: e.random };
}

describe("recipes on the simulated ensemble", () => {
  it("mutex under message loss and a leader crash: the fenced resource never accepts a stale token", async () => {
    const ensemble = await createSimEnsemble({ seed: 101, faults: { drop: 0.02, duplicate: 0.02, reorder: 0.02 } });
    try {
      await ensemble.waitForLeader();
      const resource = new FencedResource<string>();
      let inside = 0;
      let maxInside = 0;
      let writes = 0;
      const workers = await Promise.all(["a", "b", "c"].map(async (name) => ({ name, mutex: new Mutex(await client(ensemble, name), "/locks/sim", env(ensemble, name)) })));
      const work = workers.map(async ({ name, mutex }) => {
        for (let i = 0; i < 3; i++) {
          const hold = await mutex.acquire({ timeoutMs: 40_000 });
          inside++;
          maxInside = Math.max(maxInside, inside);
          if (resource.write(hold.fencingToken, name)) writes++;
          inside--;
          await mutex.release();
        }
      });
      const crash = (async () => {
        await ensemble.runFor(200);
        const leader = ensemble.leader();
        if (leader !== undefined) await ensemble.crash(leader.id);
      })();
      await settle(ensemble, Promise.all([...work, crash]), 120_000);
      expect(maxInside).toBe(1);
      expect(writes).toBe(9);
      expect(resource.refused).toBe(0);
    } finally {
      await ensemble.close();
    }
  });

  it("leader latch: at most one leader per fencing token when the leader's session ends", async () => {
    const ensemble = await createSimEnsemble({ seed: 102 });
    try {
      await ensemble.waitForLeader();
      const clients = await Promise.all(["l1", "l2"].map((n) => client(ensemble, n)));
      const latches = clients.map((c, i) => new LeaderLatch(c, "/election/sim", env(ensemble, `l${i}`)));
      const leadersByToken = new Map<number, Set<number>>();
      latches.forEach((latch, i) =>
        latch.on("isLeader", (term) => {
          const set = leadersByToken.get(term.fencingToken) ?? new Set<number>();
          set.add(i);
          leadersByToken.set(term.fencingToken, set);
        }),
      );
      await settle(ensemble, Promise.all(latches.map((l) => l.start())));
      await ensemble.runUntil(() => latches.some((l) => l.hasLeadership()), 20_000);
      const leaderIndex = latches.findIndex((l) => l.hasLeadership());
      expect(leaderIndex).toBeGreaterThanOrEqual(0);
      const first = latches[leaderIndex]!.currentTerm()!;
      // The leader's session ends (its ephemeral goes): the other candidate takes over with a larger token.
      await settle(ensemble, clients[leaderIndex]!.close());
      const second = await settle(ensemble, latches[1 - leaderIndex]!.await({ timeoutMs: 30_000 }));
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      for (const holders of leadersByToken.values()) expect(holders.size).toBe(1);
    } finally {
      await ensemble.close();
    }
  });

  it("FIFO queue: concurrent consumers over a lossy network lose and duplicate nothing", async () => {
    const ensemble = await createSimEnsemble({ seed: 103, faults: { drop: 0.03, duplicate: 0.03 } });
    try {
      await ensemble.waitForLeader();
      const producer = new DistributedQueue(await client(ensemble, "p"), "/q/sim", env(ensemble, "p"));
      for (let i = 0; i < 15; i++) await settle(ensemble, producer.put(`item-${i}`));
      const got: string[] = [];
      const consumers = await Promise.all(["c1", "c2"].map(async (n) => new DistributedQueue(await client(ensemble, n), "/q/sim", env(ensemble, n), { consumerId: n })));
      await settle(
        ensemble,
        Promise.all(
          consumers.map(async (queue) => {
            for (;;) {
              const item = await queue.poll();
              if (item !== undefined) got.push(new TextDecoder().decode(item));
              else if ((await queue.size()) === 0) return;
            }
          }),
        ),
        120_000,
      );
      expect(got.length).toBe(15);
      expect(new Set(got).size).toBe(15);
    } finally {
      await ensemble.close();
    }
  });
});
