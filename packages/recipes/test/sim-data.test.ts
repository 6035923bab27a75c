/**
 * Data recipes on the simulated ensemble with loss, short request timeouts
 * (so some outcomes are unknown) and a leader crash: the counter's final value
 * accounts for every increment, ids are unique, the FIFO queue loses and
 * duplicates nothing, and the queue checker catches a consumer that does not
 * delete what it reads.
 */
import { describe, expect, it } from "vitest";
import { AtomicCounter, DistributedQueue, IdAllocator, OutcomeUnknown } from "../src/index.js";
import { checkQueueHistory, openClient, recipeEnv, settle, withEnsemble, type SimEnsemble } from "./sim-helpers.js";

const SEEDS = [41, 42, 43];
const LOSSY = { drop: 0.05, duplicate: 0.03, reorder: 0.03 };
const decoder = new TextDecoder();

async function crashLeaderAfter(ensemble: SimEnsemble, afterMs: number, downMs: number): Promise<void> {
  await ensemble.runFor(afterMs);
  const leader = ensemble.leader();
  if (leader === undefined) return;
  await ensemble.crash(leader.id);
  await ensemble.runFor(downMs);
  await ensemble.restart(leader.id);
}

describe("counter, ids and queues on the simulated ensemble with faults", () => {
  it.each(SEEDS)("atomic counter under loss and a leader crash: final value = successful increments (+ at most the unknown ones) (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: LOSSY }, async (ensemble) => {
      let ok = 0;
      let unknown = 0;
      const workers = await Promise.all(["k1", "k2", "k3"].map(async (name) => new AtomicCounter(await openClient(ensemble, name, { sessionTimeoutMs: 4_000, requestTimeoutMs: 400 }), "/counters/visits")));
      const work = workers.map(async (counter) => {
        for (let i = 0; i < 10; i++) {
          try {
            await counter.increment();
            ok++;
          } catch (error) {
            if (error instanceof OutcomeUnknown) unknown++;
            else if ((error as { _tag?: string })._tag === "OperationTimeout" || (error as { _tag?: string })._tag === "ConnectionLoss") {
              // The read before the set timed out: nothing was written.
            } else throw error;
          }
        }
      });
      await settle(ensemble, Promise.all([...work, crashLeaderAfter(ensemble, 100, 600)]), 120_000);
      const reader = new AtomicCounter(await openClient(ensemble, "reader", { sessionTimeoutMs: 4_000 }), "/counters/visits");
      const value = await settle(ensemble, reader.get());
      expect(ok).toBeGreaterThan(0);
      expect(value).toBeGreaterThanOrEqual(ok);
      expect(value).toBeLessThanOrEqual(ok + unknown);
    });
  });

  it.each(SEEDS)("id allocator: ids stay unique across clients, batches, loss and a leader crash (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: LOSSY }, async (ensemble) => {
      const ids: string[] = [];
      const allocators = await Promise.all(["i1", "i2", "i3"].map(async (name) => new IdAllocator(await openClient(ensemble, name, { sessionTimeoutMs: 4_000, requestTimeoutMs: 1_000 }), recipeEnv(ensemble, name))));
      const work = allocators.map(async (allocator, n) => {
        for (let i = 0; i < 6; i++) {
          try {
            if (i % 2 === 0) ids.push(await allocator.allocate("type2"));
            else ids.push(...(await allocator.allocateBatch("type2", 5)));
          } catch (error) {
            // Exhausted retries under faults: no id was handed out, which is fine; a duplicate is not.
            if ((error as { _tag?: string })._tag !== "RetriesExhausted" && (error as { _tag?: string })._tag !== "OperationTimeout") throw error;
          }
        }
        return n;
      });
      await settle(ensemble, Promise.all([...work, crashLeaderAfter(ensemble, 150, 600)]), 120_000);
      expect(ids.length).toBeGreaterThan(20);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^type2-job-\d{10}$/);
    });
  });

  it.each(SEEDS)("FIFO queue with a leader crash: nothing lost, nothing duplicated, each consumer in put order (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: LOSSY }, async (ensemble) => {
      const producer = new DistributedQueue(await openClient(ensemble, "p", { sessionTimeoutMs: 4_000 }), "/q/jobs", recipeEnv(ensemble, "p"));
      const put: string[] = [];
      const unknownPuts: string[] = [];
      const consumers = await Promise.all(["c1", "c2", "c3"].map(async (id) => ({ id, queue: new DistributedQueue(await openClient(ensemble, id, { sessionTimeoutMs: 4_000 }), "/q/jobs", recipeEnv(ensemble, id), { consumerId: id }) })));
      const taken = new Map<string, string[]>(consumers.map(({ id }) => [id, []]));
      let producing = true;
      const produce = (async () => {
        for (let i = 0; i < 20; i++) {
          const item = `item-${i}`;
          try {
            await producer.put(item);
            put.push(item);
          } catch (error) {
            unknownPuts.push(item);
            if ((error as { _tag?: string })._tag === undefined) throw error;
          }
        }
        producing = false;
      })();
      const consume = consumers.map(async ({ id, queue }) => {
        for (;;) {
          try {
            const item = await queue.poll();
            if (item !== undefined) taken.get(id)!.push(decoder.decode(item));
            else if (!producing && (await queue.size()) === 0) return;
            else await new Promise<void>((resolve) => ensemble.sim.clockFor(`poll:${id}`).setTimer(20, resolve));
          } catch (error) {
            // A lost reply: the receipt protocol settles it on the next take.
            if ((error as { _tag?: string })._tag === undefined) throw error;
          }
        }
      });
      await settle(ensemble, Promise.all([produce, ...consume, crashLeaderAfter(ensemble, 120, 500)]), 150_000);
      // Receipts left by takes whose outcome was unknown are returned by the same consumer's next take.
      for (const { id, queue } of consumers) {
        for (;;) {
          const item = await settle(ensemble, queue.poll());
          if (item === undefined) break;
          taken.get(id)!.push(decoder.decode(item));
        }
      }
      expect(checkQueueHistory(put, taken, unknownPuts)).toEqual([]);
      expect(put.length).toBeGreaterThan(10);
    });
  });

  it("the FIFO checker catches a consumer that reads the head without deleting it (duplicates)", async () => {
    await withEnsemble({ seed: 49 }, async (ensemble) => {
      const client = await openClient(ensemble, "p");
      const producer = new DistributedQueue(client, "/q/broken", recipeEnv(ensemble, "p"));
      const put: string[] = [];
      for (let i = 0; i < 5; i++) {
        await settle(ensemble, producer.put(`item-${i}`));
        put.push(`item-${i}`);
      }
      // The planted bug: "take" = read the head, forget to delete it.
      const brokenTake = async (): Promise<string | undefined> => {
        const { children } = await client.getChildren("/q/broken/items");
        const head = children.sort((a, b) => Number(a.slice(-10)) - Number(b.slice(-10)))[0];
        return head === undefined ? undefined : decoder.decode((await client.getData(`/q/broken/items/${head}`)).data);
      };
      const taken = new Map<string, string[]>([
        ["b1", []],
        ["b2", []],
      ]);
      for (let round = 0; round < 3; round++) {
        for (const consumer of ["b1", "b2"]) {
          const item = await settle(ensemble, brokenTake());
          if (item !== undefined) taken.get(consumer)!.push(item);
        }
      }
      const violations = checkQueueHistory(put, taken);
      expect(violations.some((v) => v.startsWith("duplicated item-0"))).toBe(true);
      expect(violations.some((v) => v.startsWith("lost item-4"))).toBe(true);
    });
  });
});
