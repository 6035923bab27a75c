import { afterAll, describe, expect, it } from "vitest";
import { pingRedis, startRedis } from "./redis.js";
import type { TestRedis } from "./redis.js";

describe("test Redis harness", () => {
  const started: TestRedis[] = [];
  afterAll(async () => {
    await Promise.all(started.map((redis) => redis.stop()));
  });

  it("starts a Redis that answers, kills it, restarts it on the same port, and stops it", async () => {
    const redis = await startRedis();
    started.push(redis);
    expect(redis.url).toBe(`redis://${redis.host}:${redis.port}`);
    expect(await pingRedis(redis.host, redis.port)).toBe(true);

    await redis.kill();
    expect(await pingRedis(redis.host, redis.port)).toBe(false);

    await redis.restart();
    expect(await pingRedis(redis.host, redis.port)).toBe(true);

    await redis.stop();
    expect(await pingRedis(redis.host, redis.port)).toBe(false);
    await redis.stop(); // idempotent
  });

  it("gives concurrent callers separate servers", async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(await pingRedis(a.host, a.port)).toBe(true);
    expect(await pingRedis(b.host, b.port)).toBe(true);
  });
});
