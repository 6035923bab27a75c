/**
 * `pnpm bench transport [--redis URL] [--messages N] [--latency-samples N] [--size BYTES] [--rounds N] [--raw-batch N] [--latency-only]`
 *
 * One-way latency (p50/p99) and throughput of RedisStreamsNetwork (endpoint A
 * -> endpoint B, each on its own network instance, in this process) against
 * raw ioredis on the same Redis in the same run:
 *   raw throughput: pipelined XADD batches (one message per entry) read by XREAD BLOCK;
 *   raw latency:    one XADD at a time, read by XREAD BLOCK.
 * Every frame carries its send time (performance.now, same process), so
 * one-way latency = receive time - embedded send time. Latency is measured
 * unloaded (one message in flight), throughput with the sender kept busy.
 * Each metric is the median over --rounds rounds; the kinds are interleaved
 * so a noisy neighbour hurts both sides alike.
 */
import { Redis } from "ioredis";
import { RedisStreamsNetwork } from "@corral/actors";
import type { RedisEndpoint } from "@corral/actors";
import { startRedis } from "../test/support/redis.js";
import type { TestRedis } from "../test/support/redis.js";

interface Settings {
  redisUrl: string | undefined;
  messages: number;
  latencySamples: number;
  sizeBytes: number;
  rounds: number;
  rawBatch: number;
  pendingBound: number;
  latencyOnly: boolean;
}

function parseArgs(args: readonly string[]): Settings {
  const settings: Settings = {
    redisUrl: undefined,
    messages: 200_000,
    latencySamples: 2000,
    sizeBytes: 64,
    rounds: 3,
    rawBatch: 1000,
    pendingBound: 20_000,
    latencyOnly: false,
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === "--latency-only") {
      settings.latencyOnly = true;
      continue;
    }
    const value = args[i + 1];
    const number = Number(value);
    switch (flag) {
      case "--redis":
        settings.redisUrl = value;
        break;
      case "--messages":
        settings.messages = number;
        break;
      case "--latency-samples":
        settings.latencySamples = number;
        break;
      case "--size":
        settings.sizeBytes = Math.max(8, number);
        break;
      case "--rounds":
        settings.rounds = number;
        break;
      case "--raw-batch":
        settings.rawBatch = number;
        break;
      default:
        throw new Error(`unknown option ${String(flag)}`);
    }
    i += 1;
  }
  return settings;
}

function stamped(sizeBytes: number): Buffer {
  const frame = Buffer.alloc(sizeBytes, 0x5a);
  frame.writeDoubleLE(performance.now(), 0);
  return frame;
}

function latencyOf(frame: Uint8Array, now: number): number {
  return now - Buffer.from(frame.buffer, frame.byteOffset, 8).readDoubleLE(0);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 50);
}

interface LatencyResult {
  p50Ms: number;
  p99Ms: number;
}

interface ThroughputResult {
  messagesPerSecond: number;
  loadedP50Ms: number;
}

// ---------------------------------------------------------------------------
// RedisStreamsNetwork

async function withNetworkPair<T>(
  redisUrl: string,
  cluster: string,
  run: (a: RedisEndpoint, onReceive: (handler: (frame: Uint8Array) => void) => void) => Promise<T>,
): Promise<T> {
  const netA = new RedisStreamsNetwork({ redisUrl, cluster });
  const netB = new RedisStreamsNetwork({ redisUrl, cluster });
  let handler: (frame: Uint8Array) => void = () => undefined;
  try {
    const a = await netA.open("a", () => undefined);
    await netB.open("b", (_from, frame) => handler(frame));
    return await run(a, (h) => (handler = h));
  } finally {
    await netA.close();
    await netB.close();
  }
}

function networkLatency(settings: Settings, redisUrl: string, round: number): Promise<LatencyResult> {
  return withNetworkPair(redisUrl, `bench-lat-${round}`, async (a, onReceive) => {
    const samples: number[] = [];
    const warmup = 100;
    for (let i = 0; i < settings.latencySamples + warmup; i++) {
      const arrived = new Promise<number>((resolve) => onReceive((frame) => resolve(latencyOf(frame, performance.now()))));
      a.send("b", stamped(settings.sizeBytes));
      const latency = await arrived;
      if (i >= warmup) samples.push(latency);
    }
    samples.sort((x, y) => x - y);
    return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
  });
}

function networkThroughput(settings: Settings, redisUrl: string, round: number): Promise<ThroughputResult> {
  return withNetworkPair(redisUrl, `bench-thr-${round}`, async (a, onReceive) => {
    const total = settings.messages;
    let received = 0;
    const latencies: number[] = [];
    const started = performance.now();
    const done = new Promise<number>((resolve) =>
      onReceive((frame) => {
        received += 1;
        if ((received & 63) === 0) latencies.push(latencyOf(frame, performance.now()));
        if (received === total) resolve(performance.now());
      }),
    );
    let sent = 0;
    const pump = (): void => {
      while (sent < total && a.pendingFrames() < settings.pendingBound) {
        const end = Math.min(total, sent + 1000);
        while (sent < end) {
          a.send("b", stamped(settings.sizeBytes));
          sent += 1;
        }
      }
      if (sent < total) setImmediate(pump);
    };
    pump();
    const finished = await done;
    const dropped = a.stats().framesDropped;
    if (dropped > 0) throw new Error(`network dropped ${dropped} frames during the throughput run`);
    latencies.sort((x, y) => x - y);
    return { messagesPerSecond: (total / (finished - started)) * 1000, loadedP50Ms: percentile(latencies, 50) };
  });
}

// ---------------------------------------------------------------------------
// Raw ioredis

class RawReader {
  private running = true;
  private readonly loop: Promise<void>;
  constructor(
    private readonly connection: Redis,
    private readonly key: string,
    private lastId: string,
    private readonly onMessage: (payload: Buffer) => void,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const reply = await this.connection.xreadBuffer("COUNT", 1000, "BLOCK", 200, "STREAMS", this.key, this.lastId).catch(() => null);
      if (reply === null) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          this.lastId = id.toString("latin1");
          const payload = fields[1];
          if (payload !== undefined) this.onMessage(payload);
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

async function withRawPair<T>(redisUrl: string, key: string, run: (writer: Redis, onReceive: (h: (payload: Buffer) => void) => void) => Promise<T>): Promise<T> {
  const writer = new Redis(redisUrl);
  const reader = new Redis(redisUrl);
  let handler: (payload: Buffer) => void = () => undefined;
  await reader.del(key);
  // Position the reader after the (empty) stream's end before anything is written.
  await writer.xadd(key, "*", "m", "start");
  const first = (await writer.xrevrange(key, "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
  const tail = new RawReader(reader, key, first, (payload) => handler(payload));
  try {
    return await run(writer, (h) => (handler = h));
  } finally {
    await tail.stop();
    await writer.del(key);
    writer.disconnect();
    reader.disconnect();
  }
}

function rawLatency(settings: Settings, redisUrl: string, round: number): Promise<LatencyResult> {
  return withRawPair(redisUrl, `bench:raw:lat:${round}`, async (writer, onReceive) => {
    const key = `bench:raw:lat:${round}`;
    const samples: number[] = [];
    const warmup = 100;
    for (let i = 0; i < settings.latencySamples + warmup; i++) {
      const arrived = new Promise<number>((resolve) => onReceive((payload) => resolve(latencyOf(payload, performance.now()))));
      void writer.xadd(key, "MAXLEN", "~", 1024, "*", "m", stamped(settings.sizeBytes));
      const latency = await arrived;
      if (i >= warmup) samples.push(latency);
    }
    samples.sort((x, y) => x - y);
    return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
  });
}

function rawThroughput(settings: Settings, redisUrl: string, round: number): Promise<ThroughputResult> {
  return withRawPair(redisUrl, `bench:raw:thr:${round}`, async (writer, onReceive) => {
    const key = `bench:raw:thr:${round}`;
    const total = settings.messages;
    let received = 0;
    const latencies: number[] = [];
    const started = performance.now();
    const done = new Promise<number>((resolve) =>
      onReceive((payload) => {
        received += 1;
        if ((received & 63) === 0) latencies.push(latencyOf(payload, performance.now()));
        if (received === total) resolve(performance.now());
      }),
    );
    let sent = 0;
    let acknowledged = 0;
    // The same in-flight bound as the network's sender, so neither side may run ahead unboundedly.
    // MAXLEN is large enough that the reader never loses entries to trimming.
    const pump = (): void => {
      while (sent < total && sent - acknowledged < settings.pendingBound) {
        const pipeline = writer.pipeline();
        const end = Math.min(total, sent + settings.rawBatch);
        const batch = end - sent;
        while (sent < end) {
          pipeline.xadd(key, "MAXLEN", "~", total + 1024, "*", "m", stamped(settings.sizeBytes));
          sent += 1;
        }
        void pipeline.exec().then(() => {
          acknowledged += batch;
        });
      }
      if (sent < total) setImmediate(pump);
    };
    pump();
    const finished = await done;
    latencies.sort((x, y) => x - y);
    return { messagesPerSecond: (total / (finished - started)) * 1000, loadedP50Ms: percentile(latencies, 50) };
  });
}

// ---------------------------------------------------------------------------

function format(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

export async function main(args: string[]): Promise<void> {
  const settings = parseArgs(args);
  let started: TestRedis | undefined;
  const redisUrl = settings.redisUrl ?? (started = await startRedis()).url;
  try {
    process.stdout.write(
      `transport bench: redis ${redisUrl} (${started ? `started, ${started.backend}` : "given"}), ` +
        `${settings.messages} msgs x ${settings.sizeBytes} B for throughput, ${settings.latencySamples} latency samples, ${settings.rounds} rounds\n`,
    );
    const rounds = { netLat: [] as LatencyResult[], rawLat: [] as LatencyResult[], netThr: [] as ThroughputResult[], rawThr: [] as ThroughputResult[] };
    for (let round = 0; round < settings.rounds; round++) {
      rounds.rawLat.push(await rawLatency(settings, redisUrl, round));
      rounds.netLat.push(await networkLatency(settings, redisUrl, round));
      if (settings.latencyOnly) continue;
      rounds.rawThr.push(await rawThroughput(settings, redisUrl, round));
      rounds.netThr.push(await networkThroughput(settings, redisUrl, round));
      const last = (list: ThroughputResult[]): string => format(list[list.length - 1]?.messagesPerSecond ?? Number.NaN, 0);
      process.stdout.write(`  round ${round + 1}: raw ${last(rounds.rawThr)} msg/s, network ${last(rounds.netThr)} msg/s\n`);
    }
    const row = (lat: LatencyResult[], thr: ThroughputResult[]) => ({
      p50: median(lat.map((r) => r.p50Ms)),
      p99: median(lat.map((r) => r.p99Ms)),
      throughput: median(thr.map((r) => r.messagesPerSecond)),
      loadedP50: median(thr.map((r) => r.loadedP50Ms)),
    });
    const raw = row(rounds.rawLat, rounds.rawThr);
    const net = row(rounds.netLat, rounds.netThr);
    const lines = [
      ["", "p50 ms", "p99 ms", "msg/s", "loaded p50 ms"],
      ["raw ioredis XADD/XREAD", format(raw.p50, 3), format(raw.p99, 3), format(raw.throughput, 0), format(raw.loadedP50, 1)],
      ["RedisStreamsNetwork", format(net.p50, 3), format(net.p99, 3), format(net.throughput, 0), format(net.loadedP50, 1)],
      ["ratio network/raw", format(net.p50 / raw.p50, 2), format(net.p99 / raw.p99, 2), format(net.throughput / raw.throughput, 2), format(net.loadedP50 / raw.loadedP50, 2)],
    ];
    const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => (line[column] ?? "").length)));
    for (const line of lines) process.stdout.write(`${line.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")}\n`);
    const throughputOk = net.throughput >= 0.7 * raw.throughput;
    const latencyOk = net.p50 <= 1.3 * raw.p50;
    process.stdout.write(
      `goals: throughput >= 0.7x raw: ${throughputOk ? "met" : "MISSED"}; p50 latency <= 1.3x raw: ${latencyOk ? "met" : "MISSED"}\n`,
    );
  } finally {
    await started?.stop();
  }
}
