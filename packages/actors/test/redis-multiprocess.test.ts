import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis } from "../../../test/support/redis.js";
import type { TestRedis } from "../../../test/support/redis.js";
import { spawnPeer, waitFor } from "./fixtures/peer-process.js";
import type { Peer } from "./fixtures/peer-process.js";

let redis: TestRedis;
const peers: Peer[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const peer of peers) if (peer.child.exitCode === null) peer.child.kill("SIGKILL");
  await redis.stop();
});

function describePeers(...list: Peer[]): () => string {
  return () => JSON.stringify(list.map((p) => ({ latest: p.latest(), stderr: p.stderr().slice(-2000) })));
}

async function stopBoth(a: Peer, b: Peer): Promise<void> {
  a.command("stop");
  b.command("stop");
  const [codeA, codeB] = await Promise.all([a.exited, b.exited]);
  expect({ codeA, codeB, stderrA: a.stderr(), stderrB: b.stderr() }).toMatchObject({ codeA: 0, codeB: 0 });
}

describe("RedisStreamsNetwork between two OS processes", () => {
  it("exchanges 100,000 messages in each direction with none malformed, lost or duplicated", async () => {
    const count = 100_000;
    const a = spawnPeer({ redisUrl: redis.url, cluster: "mp", self: "a", peer: "b", mode: "burst", count });
    const b = spawnPeer({ redisUrl: redis.url, cluster: "mp", self: "b", peer: "a", mode: "burst", count });
    peers.push(a, b);
    await waitFor(() => a.seen("open") && b.seen("open"), 20_000, describePeers(a, b));
    a.command("go");
    b.command("go");
    await waitFor(() => (a.latest()?.received ?? 0) >= count && (b.latest()?.received ?? 0) >= count, 30_000, describePeers(a, b));
    for (const peer of [a, b]) {
      const report = peer.latest()!;
      expect(report.received).toBe(count);
      expect(report.malformed).toBe(0);
      expect(report.duplicates).toBe(0);
      expect(report.foreign).toBe(0);
      expect(report.stats.framesDropped).toBe(0);
    }
    await stopBoth(a, b);
  });

  it("survives Redis being SIGKILLed and restarted mid-traffic; traffic resumes on both sides", async () => {
    const a = spawnPeer({ redisUrl: redis.url, cluster: "restart", self: "a", peer: "b", mode: "steady", count: 0 });
    const b = spawnPeer({ redisUrl: redis.url, cluster: "restart", self: "b", peer: "a", mode: "steady", count: 0 });
    peers.push(a, b);
    await waitFor(() => a.seen("open") && b.seen("open"), 20_000, describePeers(a, b));
    a.command("go");
    b.command("go");
    const received = (peer: Peer): number => peer.latest()?.received ?? 0;
    await waitFor(() => received(a) >= 200 && received(b) >= 200, 10_000, describePeers(a, b));

    await redis.kill();
    // Both sides notice the outage (sends dropped, reads failing) and keep running.
    await waitFor(
      () => [a, b].every((p) => (p.latest()?.stats.droppedRedisDown ?? 0) > 0 && (p.latest()?.stats.readErrors ?? 0) > 0),
      10_000,
      describePeers(a, b),
    );
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();

    await redis.restart();
    const before = [received(a), received(b)] as const;
    await waitFor(() => received(a) >= before[0] + 200 && received(b) >= before[1] + 200, 15_000, describePeers(a, b));
    expect(a.latest()?.malformed).toBe(0);
    expect(b.latest()?.malformed).toBe(0);
    await stopBoth(a, b);
  });
});
