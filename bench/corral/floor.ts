/**
 * Measures the Redis one-way hop on this machine: one XADD on one connection
 * until an XREAD BLOCK on another connection returns it (the shape of every
 * Corral message), one message in flight at a time, both ends in this process.
 */
import { Redis } from "ioredis";
import { LatencyHistogram, type LatencySummary } from "../compare/histogram.js";
import { writeFloor, type WriteFloor } from "./hops.js";

export interface HopMeasurement {
  readonly redisUrl: string;
  readonly samples: number;
  readonly latency: LatencySummary;
}

export interface FloorReport {
  readonly hop: HopMeasurement;
  readonly fsyncP50Ms: number;
  readonly onLeader: WriteFloor;
  readonly onFollower: WriteFloor;
}

/** `samples` sequential XADD → XREAD round trips (bounded also by `maxDurationMs`). */
export async function measureRedisHop(redisUrl: string, samples = 2_000, maxDurationMs = 10_000): Promise<HopMeasurement> {
  const writer = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const reader = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const key = `corral-bench:hop:${process.pid}:${Date.now()}`;
  const histogram = new LatencyHistogram();
  const deadlineNs = process.hrtime.bigint() + BigInt(maxDurationMs) * 1_000_000n;
  try {
    let lastId = "$";
    // Warm both connections (and the stream) before sampling.
    await writer.xadd(key, "MAXLEN", "~", "1000", "*", "t", "0");
    for (let index = 0; index < samples + 50 && process.hrtime.bigint() < deadlineNs; index += 1) {
      const read = reader.xread("BLOCK", 1_000, "STREAMS", key, lastId);
      // Give the XREAD a moment to reach Redis before the XADD, as a blocked inbox reader would be.
      await new Promise((resolve) => setImmediate(resolve));
      const sentNs = process.hrtime.bigint();
      await writer.xadd(key, "MAXLEN", "~", "1000", "*", "t", String(index));
      const reply = await read;
      const receivedNs = process.hrtime.bigint();
      const entries = reply?.[0]?.[1];
      const last = entries?.[entries.length - 1];
      if (last !== undefined) lastId = last[0];
      if (index >= 50 && last !== undefined) histogram.recordNanoseconds(receivedNs - sentNs);
    }
    await writer.del(key);
  } finally {
    writer.disconnect();
    reader.disconnect();
  }
  return { redisUrl, samples: histogram.count, latency: histogram.summary() };
}

export async function measureFloor(redisUrl: string, fsyncP50Ms: number): Promise<FloorReport> {
  const hop = await measureRedisHop(redisUrl);
  return {
    hop,
    fsyncP50Ms,
    onLeader: writeFloor("on-leader", hop.latency.p50Ms, fsyncP50Ms),
    onFollower: writeFloor("on-follower", hop.latency.p50Ms, fsyncP50Ms),
  };
}
