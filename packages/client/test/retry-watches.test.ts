import { SeededRandom, SimScheduler } from "@corral/actors";
import { AddWatchMode, ConnectionLossError, EventType, LimitExceededError, NoNodeError, NoWatcherError, OperationTimeoutError, TooManyRequestsError, WatcherType } from "@corral/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { isRetryable, retryPolicy, withRetry, type WatchedEvent } from "../src/index.js";
import { BoundedEventStream } from "../src/event-stream.js";
import { WatchRegistry } from "../src/watches.js";
import { ensembleWithLeader, failure, newClient, run } from "./helpers.js";

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

describe("retry helpers", () => {
  it("retry only what is safe", () => {
    expect(isRetryable(new TooManyRequestsError("/a"), false)).toBe(true);
    expect(isRetryable(new ConnectionLossError("/a"), false)).toBe(false);
    expect(isRetryable(new OperationTimeoutError("/a"), true)).toBe(true);
    expect(isRetryable(new NoNodeError("/a"), true)).toBe(false);
    expect(isRetryable(new Error("x"), true)).toBe(false);
  });

  it("exponential backoff is bounded and jittered; untilElapsed stops at its budget", () => {
    const random = new SeededRandom(1);
    const policy = retryPolicy.exponentialBackoff({ baseMs: 100, maxMs: 1_000, maxRetries: 5 });
    const delays = [1, 2, 3, 4, 5].map((retry) => policy.nextDelayMs(retry, 0, random)!);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[4]).toBeGreaterThanOrEqual(500);
    expect(delays[4]).toBeLessThanOrEqual(1_000);
    expect(policy.nextDelayMs(6, 0, random)).toBeUndefined();
    const elapsed = retryPolicy.untilElapsed({ maxElapsedMs: 1_000, sleepMs: 300 });
    expect(elapsed.nextDelayMs(1, 600, random)).toBe(300);
    expect(elapsed.nextDelayMs(2, 800, random)).toBeUndefined();
  });

  it("withRetry sleeps on the injected clock and rethrows the last error", async () => {
    const sim = new SimScheduler(3);
    const env = { clock: sim.clockFor("retry"), random: sim.random.fork("retry") };
    let calls = 0;
    const result = withRetry(env, async () => {
      calls++;
      if (calls < 3) throw new OperationTimeoutError("/r");
      return "ok";
    }, retryPolicy.exponentialBackoff({ baseMs: 10, maxMs: 100, maxRetries: 5 }), { idempotent: true });
    let value: string | undefined;
    void result.then((v) => (value = v));
    for (let i = 0; i < 100 && value === undefined; i++) {
      await Promise.resolve();
      sim.runUntil(() => false, 10);
    }
    expect(value).toBe("ok");
    expect(calls).toBe(3);
    let writes = 0;
    const write = withRetry(env, async () => {
      writes++;
      throw new OperationTimeoutError("/w");
    }, retryPolicy.exponentialBackoff({ baseMs: 10, maxMs: 100, maxRetries: 5 }));
    await expect(write).rejects.toBeInstanceOf(OperationTimeoutError);
    expect(writes).toBe(1);
  });

  it("withRetry over a client: an idempotent read retried across a partition succeeds", async () => {
    ensemble = await ensembleWithLeader({ seed: 51 });
    const e = ensemble;
    const client = await newClient(e, "a", { requestTimeoutMs: 500 });
    await run(e, client.create("/r", "v"));
    e.partition([[client.clientId], [...e.nodeIds]]);
    const attempts: number[] = [];
    const read = withRetry(client, () => client.getString("/r"), retryPolicy.untilElapsed({ maxElapsedMs: 30_000, sleepMs: 1_000 }), {
      idempotent: true,
      onRetry: (_error, retry) => attempts.push(retry),
    });
    await e.runFor(3_000);
    e.heal();
    expect((await run(e, read)).data).toBe("v");
    expect(attempts.length).toBeGreaterThan(0);
    await run(e, client.close());
  });
});

describe("watch registry and streams", () => {
  it("one-shot watchers fire once; persistent stay; recursive skip child events", () => {
    const registry = new WatchRegistry(10);
    const seen: string[] = [];
    registry.addOneShot("data", "/a", () => seen.push("data"));
    registry.addOneShot("child", "/a", () => seen.push("child"));
    registry.addPersistent(AddWatchMode.PersistentRecursive, "/", () => seen.push("recursive"));
    registry.addPersistent(AddWatchMode.Persistent, "/a", () => seen.push("persistent"));
    expect(registry.watchSet()).toEqual({ data: ["/a"], exists: [], child: ["/a"], persistent: ["/a"], persistentRecursive: ["/"] });
    for (const w of registry.take(EventType.NodeChildrenChanged, "/a")) w({ type: EventType.NodeChildrenChanged, path: "/a", zxid: 1 });
    expect(seen).toEqual(["child", "persistent"]);
    seen.length = 0;
    for (const w of registry.take(EventType.NodeDataChanged, "/a")) w({ type: EventType.NodeDataChanged, path: "/a", zxid: 2 });
    for (const w of registry.take(EventType.NodeDataChanged, "/a")) w({ type: EventType.NodeDataChanged, path: "/a", zxid: 3 });
    expect(seen).toEqual(["data", "persistent", "recursive", "persistent", "recursive"]);
    expect(registry.watchSet().data).toEqual([]);
  });

  it("a stream whose consumer falls behind fails with LimitExceeded instead of growing", async () => {
    let closed = false;
    const stream = new BoundedEventStream<number>(2, () => (closed = true), "/s");
    expect(stream.push(1)).toBe(true);
    expect(stream.push(2)).toBe(true);
    expect(stream.push(3)).toBe(false);
    expect(closed).toBe(true);
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(LimitExceededError);
  });

  it("removeWatches removes client watchers, tells them, and refuses when there is none", async () => {
    ensemble = await ensembleWithLeader({ seed: 52 });
    const e = ensemble;
    const client = await newClient(e, "a");
    const writer = await newClient(e, "w");
    await run(e, client.create("/rw"));
    const events: WatchedEvent[] = [];
    const watcher = (event: WatchedEvent): void => {
      events.push(event);
    };
    await run(e, client.getData("/rw", { watch: watcher }));
    await run(e, client.removeWatches("/rw", WatcherType.Data, watcher));
    expect(events.map((event) => event.type)).toEqual([EventType.DataWatchRemoved]);
    expect(await failure(e, client.removeWatches("/rw", WatcherType.Data))).toBeInstanceOf(NoWatcherError);
    await run(e, writer.setData("/rw", "x"));
    await run(e, client.sync("/"));
    await e.runFor(500);
    expect(events).toHaveLength(1);
    await run(e, client.close());
    await run(e, writer.close());
  });
});
