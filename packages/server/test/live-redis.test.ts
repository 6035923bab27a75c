/**
 * Three live nodes (runNode: LiveClock, Redis Streams, FileDurableLog) in one
 * process against a throwaway Redis; a client over the same transport. Waits
 * are condition polls with generous deadlines, never timing assertions.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { LiveClock, RedisStreamsNetwork, SeededRandom, formatClusterKeyLine, nullLogger } from "@corral/actors";
import { nodesKey, runNode, type RunningNode } from "@corral/server";
import { startRedis, type TestRedis } from "../../../test/support/redis.js";
import { SessionDriver } from "./support/session-driver.js";
import { bytes, create, getData, text } from "./helpers.js";

async function waitFor(condition: () => boolean, deadlineMs = 15_000): Promise<boolean> {
  const giveUpAt = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > giveUpAt) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("live nodes over Redis Streams", () => {
  let redis: TestRedis;
  let dataRoot: string;
  const cluster = `live${process.pid}`;
  const ids = ["n1", "n2", "n3"];
  const running = new Map<string, RunningNode>();

  const start = async (id: string): Promise<RunningNode> => {
    const node = await runNode(
      {
        nodeId: id,
        peers: ids,
        clusterName: cluster,
        redisUrl: redis.url,
        clusterKeyFile: join(dataRoot, "cluster.key"),
        dataDir: join(dataRoot, id),
        adminPort: 0,
        logLevel: "silent",
        tuning: { tickMs: 10, electionTicks: 20, heartbeatTicks: 3 },
      },
      { logger: nullLogger },
    );
    running.set(id, node);
    return node;
  };

  beforeAll(async () => {
    redis = await startRedis();
    dataRoot = await mkdtemp(join(tmpdir(), "corral-live-"));
    await writeFile(join(dataRoot, "cluster.key"), `${formatClusterKeyLine({ id: "k1", secret: new Uint8Array(32).fill(7) })}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    for (const node of running.values()) await node.stop();
    await redis?.stop();
    await rm(dataRoot, { recursive: true, force: true });
  });

  it("elects, serves a client, survives losing the leader, and a restarted node catches up from disk", async () => {
    for (const id of ids) await start(id);
    const leaderOf = (): string | undefined => [...running.values()].map((r) => r.node.status()).find((s) => s.role === "leader")?.id;
    expect(await waitFor(() => leaderOf() !== undefined)).toBe(true);

    const network = new RedisStreamsNetwork({ cluster, redisUrl: redis.url, logger: nullLogger });
    const client = new SessionDriver("c-live", { network, clock: new LiveClock(), random: new SeededRandom(7), logger: nullLogger }, cluster);
    await client.open();
    const firstLeader = leaderOf()!;
    const entry = ids.find((id) => id !== firstLeader)!;
    client.connect(entry);
    expect(await waitFor(() => client.connected)).toBe(true);
    const createXid = client.send(create("/live", "one"));
    expect(await waitFor(() => client.response(createXid) !== undefined)).toBe(true);

    await running.get(firstLeader)!.stop();
    running.delete(firstLeader);
    expect(await waitFor(() => leaderOf() !== undefined && leaderOf() !== firstLeader)).toBe(true);
    const setXid = client.send({ type: "setData", path: "/live", data: bytes("two"), version: -1 });
    expect(await waitFor(() => client.response(setXid) !== undefined)).toBe(true);
    expect(client.response(setXid)!.result.type).toBe("setData");

    const restarted = await start(firstLeader);
    expect(await waitFor(() => {
      const statuses = [...running.values()].map((r) => r.node.status());
      return statuses.length === 3 && statuses.every((s) => s.appliedIndex === statuses[0]!.appliedIndex && s.digest === statuses[0]!.digest);
    }, 20_000)).toBe(true);
    const status = (await (await fetch(`${restarted.admin!.url}/status`)).json()) as { digest: string };
    expect(status.digest).toBe(running.get(entry)!.node.status().digest);

    const readXid = client.send(getData("/live"));
    expect(await waitFor(() => client.response(readXid) !== undefined)).toBe(true);
    const read = client.response(readXid)!;
    expect(read.result.type === "getData" && text(read.result.data)).toBe("two");

    const probe = new Redis(redis.url);
    expect((await probe.smembers(nodesKey(cluster))).sort()).toEqual(ids);
    probe.disconnect();
    client.vanish();
    await network.close();
  });
});
