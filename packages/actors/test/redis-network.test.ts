import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRedis } from "../../../test/support/redis.js";
import type { TestRedis } from "../../../test/support/redis.js";
import {
  InvalidEndpointId,
  NetworkClosed,
  RedisNetworkConfigError,
  RedisStreamsNetwork,
  backoffDelayMs,
  compareStreamIds,
  inboxKey,
} from "../src/network-redis.js";
import type { RedisStreamsNetworkOptions } from "../src/network-redis.js";
import { SeededRandom } from "../src/random.js";
import { EndpointInUse } from "../src/errors.js";
import { waitFor } from "./fixtures/peer-process.js";

let redis: TestRedis;
let admin: Redis;
const networks: RedisStreamsNetwork[] = [];

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterEach(async () => {
  await Promise.all(networks.splice(0).map((network) => network.close()));
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

function network(options: Partial<RedisStreamsNetworkOptions> & { cluster: string }): RedisStreamsNetwork {
  const created = new RedisStreamsNetwork({ redisUrl: redis.url, backoff: { baseMs: 10, maxMs: 100 }, readBlockMs: 200, ...options });
  networks.push(created);
  return created;
}

interface Received {
  from: string;
  frame: Buffer;
}

function collector(): { frames: Received[]; onFrame: (from: string, frame: Uint8Array) => void } {
  const frames: Received[] = [];
  return { frames, onFrame: (from, frame) => frames.push({ from, frame: Buffer.from(frame) }) };
}

describe("RedisStreamsNetwork", () => {
  it("delivers binary frames in order, both directions, coalescing a turn's sends into one entry", async () => {
    const net = network({ cluster: "basic" });
    const atA = collector();
    const atB = collector();
    const a = await net.open("a", atA.onFrame);
    const b = await net.open("b", atB.onFrame);
    const frames = Array.from({ length: 500 }, (_, i) => Buffer.from([i & 0xff, 0, 0xff, 13, 10, (i >> 8) & 0xff]));
    for (const frame of frames) a.send("b", frame);
    b.send("a", new Uint8Array([1, 2, 3]));
    await waitFor(() => atB.frames.length === 500 && atA.frames.length === 1, 5000);
    expect(atB.frames.map((r) => r.frame)).toEqual(frames);
    expect(atB.frames.every((r) => r.from === "a")).toBe(true);
    expect(atA.frames).toEqual([{ from: "b", frame: Buffer.from([1, 2, 3]) }]);
    // One turn, one destination, one source: one stream entry.
    expect(await admin.xlen(inboxKey("basic", "b"))).toBe(1);
    expect(a.stats()).toMatchObject({ framesSent: 500, framesDropped: 0 });
    expect(b.stats()).toMatchObject({ framesReceived: 500, bytesReceived: 3000, framesDropped: 0 });
    // Inbox keys get a TTL so abandoned inboxes disappear.
    expect(await admin.pttl(inboxKey("basic", "b"))).toBeGreaterThan(0);
  });

  it("splits a large turn into entries bounded by maxEntryFrames", async () => {
    const net = network({ cluster: "split", maxEntryFrames: 100 });
    const atB = collector();
    const a = await net.open("a", () => undefined);
    await net.open("b", atB.onFrame);
    for (let i = 0; i < 250; i++) a.send("b", Buffer.from([i]));
    await waitFor(() => atB.frames.length === 250, 5000);
    expect(atB.frames.map((r) => r.frame[0])).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(await admin.xlen(inboxKey("split", "b"))).toBe(3);
  });

  it("drops and counts entries that are not in the expected shape, and keeps delivering good ones", async () => {
    const net = network({ cluster: "garbage" });
    const atB = collector();
    const a = await net.open("a", () => undefined);
    const b = await net.open("b", atB.onFrame);
    const key = inboxKey("garbage", "b");
    await admin.xadd(key, "*", "foo", "bar");
    await admin.xadd(key, "*", "f", "a"); // no message
    await admin.xadd(key, "*", "f", "not valid id!", "m", "x");
    await admin.xadd(key, "*", "f", "a", "m", "x", "junk", "y");
    await admin.xadd(key, "*", "m", "x", "f", "a");
    await admin.xadd(key, "*", "f", "a", "m", "ok-raw");
    a.send("b", Buffer.from("ok-sent"));
    await waitFor(() => atB.frames.length === 2, 5000);
    expect(atB.frames.map((r) => r.frame.toString())).toEqual(["ok-raw", "ok-sent"]);
    expect(b.stats()).toMatchObject({ droppedMalformed: 5, framesDropped: 5, framesReceived: 2 });
  });

  it("drops oversized frames at the sender and at the receiver, counting them", async () => {
    const small = network({ cluster: "size", maxFrameBytes: 100 });
    const large = network({ cluster: "size", maxFrameBytes: 1000 });
    const atB = collector();
    const a = await small.open("a", () => undefined);
    const b = await small.open("b", atB.onFrame);
    const c = await large.open("c", () => undefined);
    a.send("b", Buffer.alloc(101)); // dropped at the sender
    c.send("b", Buffer.alloc(500)); // accepted by c's network, dropped by b
    c.send("b", Buffer.alloc(100, 7)); // fits both
    await waitFor(() => atB.frames.length === 1 && b.stats().droppedOversized === 1, 5000);
    expect(atB.frames[0]?.frame).toEqual(Buffer.alloc(100, 7));
    expect(a.stats()).toMatchObject({ droppedOversized: 1, framesDropped: 1, framesSent: 0 });
    expect(b.stats()).toMatchObject({ droppedOversized: 1, framesDropped: 1, framesReceived: 1 });
    expect(c.stats()).toMatchObject({ framesSent: 2, framesDropped: 0 });
  });

  it("keeps clusters sharing one Redis apart", async () => {
    const red = network({ cluster: "red" });
    const blue = network({ cluster: "blue" });
    const atRedB = collector();
    const atBlueB = collector();
    const redA = await red.open("a", () => undefined);
    await red.open("b", atRedB.onFrame);
    const blueA = await blue.open("a", () => undefined);
    await blue.open("b", atBlueB.onFrame);
    redA.send("b", Buffer.from("red"));
    blueA.send("b", Buffer.from("blue"));
    await waitFor(() => atRedB.frames.length === 1 && atBlueB.frames.length === 1, 5000);
    // Flush one more round trip so a leak would have arrived too.
    redA.send("b", Buffer.from("red2"));
    await waitFor(() => atRedB.frames.length === 2, 5000);
    expect(atRedB.frames.map((r) => r.frame.toString())).toEqual(["red", "red2"]);
    expect(atBlueB.frames.map((r) => r.frame.toString())).toEqual(["blue"]);
  });

  it("drops and counts sends past the queue bound", async () => {
    const net = network({ cluster: "bound", sendQueueMaxFrames: 10 });
    const atB = collector();
    const a = await net.open("a", () => undefined);
    await net.open("b", atB.onFrame);
    for (let i = 0; i < 25; i++) a.send("b", Buffer.from([i]));
    expect(a.stats()).toMatchObject({ droppedQueueFull: 15, framesDropped: 15 });
    await waitFor(() => atB.frames.length === 10, 5000);
    expect(atB.frames.map((r) => r.frame[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The bound counts in-flight frames; once acknowledged there is room again.
    await waitFor(() => a.pendingFrames() === 0, 5000);
    a.send("b", Buffer.from([99]));
    await waitFor(() => atB.frames.length === 11, 5000);
  });

  it("drops sends to ids that cannot be endpoints, and never throws from send", async () => {
    const net = network({ cluster: "ids" });
    const a = await net.open("a", () => undefined);
    expect(() => a.send("bad id", Buffer.from("x"))).not.toThrow();
    expect(() => a.send("x}y", Buffer.from("x"))).not.toThrow();
    expect(a.stats()).toMatchObject({ droppedInvalidDestination: 2, framesDropped: 2 });
  });

  it("rejects bad configuration and bad opens with typed errors", async () => {
    expect(() => new RedisStreamsNetwork({ redisUrl: redis.url, cluster: "a{b}" })).toThrow(RedisNetworkConfigError);
    expect(() => new RedisStreamsNetwork({ redisUrl: redis.url, cluster: "ok", inboxMaxLen: 0 })).toThrow(RedisNetworkConfigError);
    const net = network({ cluster: "opens" });
    await expect(net.open("a b", () => undefined)).rejects.toBeInstanceOf(InvalidEndpointId);
    await net.open("a", () => undefined);
    await expect(net.open("a", () => undefined)).rejects.toBeInstanceOf(EndpointInUse);
    await net.close();
    await expect(net.open("c", () => undefined)).rejects.toBeInstanceOf(NetworkClosed);
  });

  it("while Redis is unreachable: open returns after openWaitMs, sends are dropped and counted, nothing throws", async () => {
    const net = new RedisStreamsNetwork({ redisUrl: "redis://127.0.0.1:1", cluster: "down", openWaitMs: 50, backoff: { baseMs: 10, maxMs: 50 } });
    networks.push(net);
    const a = await net.open("a", () => undefined);
    a.send("b", Buffer.from("lost"));
    await waitFor(() => a.stats().droppedRedisDown === 1, 5000);
    expect(a.stats().framesSent).toBe(0);
    await net.close();
  });

  it("resumes after Redis restarts, reading the recreated inbox", async () => {
    const net = network({ cluster: "restart" });
    const atB = collector();
    const a = await net.open("a", () => undefined);
    const b = await net.open("b", atB.onFrame);
    a.send("b", Buffer.from("before"));
    await waitFor(() => atB.frames.length === 1, 5000);
    await redis.kill();
    await waitFor(() => b.stats().readErrors > 0, 5000);
    a.send("b", Buffer.from("during"));
    await waitFor(() => a.stats().droppedRedisDown >= 1, 5000);
    await redis.restart();
    // Keep sending until one arrives: the reader and writer reconnect on their own schedules.
    await waitFor(
      () => {
        if (atB.frames.length === 1) a.send("b", Buffer.from("after"));
        return atB.frames.length > 1;
      },
      10_000,
    );
    expect(atB.frames.slice(1).every((r) => r.frame.toString() === "after")).toBe(true);
    admin.disconnect();
    admin = new Redis(redis.url);
  });

  it("closes cleanly: no connections left on the server", async () => {
    const net = new RedisStreamsNetwork({ redisUrl: redis.url, cluster: "close" });
    const a = await net.open("a", () => undefined);
    await net.open("b", () => undefined);
    a.send("b", Buffer.from("x"));
    const clients = async (): Promise<number> =>
      ((await admin.client("LIST")) as string).split("\n").filter((line) => line.includes("name=corral-")).length;
    expect(await clients()).toBe(3); // one writer, two readers
    await net.close();
    await net.close(); // idempotent
    // The server notices closed sockets asynchronously: poll with a deadline.
    let remaining = await clients();
    for (const deadline = Date.now() + 5000; remaining > 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      remaining = await clients();
    }
    expect(remaining).toBe(0);
  });
});

describe("Redis network helpers", () => {
  it("orders stream ids numerically", () => {
    expect(compareStreamIds("10-0", "9-5")).toBe(1);
    expect(compareStreamIds("5-2", "5-10")).toBe(-1);
    expect(compareStreamIds("1700000000000-3", "1700000000000-3")).toBe(0);
  });

  it("backs off exponentially with jitter, capped", () => {
    const backoff = { baseMs: 100, maxMs: 1000, random: new SeededRandom(1) };
    for (let attempt = 1; attempt <= 10; attempt++) {
      const ceiling = Math.min(1000, 100 * 2 ** (attempt - 1));
      const delay = backoffDelayMs(attempt, backoff);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });
});
