import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis } from "../../../test/support/redis.js";
import type { TestRedis } from "../../../test/support/redis.js";
import { RedisFaultControl, faultControlKey, parseFaultCommand, publishFault } from "../src/fault-control-redis.js";
import type { FaultCommand } from "../src/fault-command.js";
import { RedisNetworkConfigError } from "../src/network-redis.js";
import { waitFor } from "./fixtures/peer-process.js";

let redis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

describe("RedisFaultControl", () => {
  it("delivers valid commands in order and drops, counts and never delivers garbage", async () => {
    const received: FaultCommand[] = [];
    const control = await RedisFaultControl.start({ redisUrl: redis.url, cluster: "fc", onCommand: (c) => received.push(c), readBlockMs: 200 });
    const other: FaultCommand[] = [];
    const otherCluster = await RedisFaultControl.start({ redisUrl: redis.url, cluster: "fc2", onCommand: (c) => other.push(c), readBlockMs: 200 });
    try {
      const commands: FaultCommand[] = [
        { kind: "partition", groups: [["n1"], ["n2", "n3"]] },
        { kind: "set-link-faults", from: "*", to: "n2", drop: 0.2, delayMsMin: 1, delayMsMax: 5 },
        { kind: "block", from: "n1", to: "n2" },
        { kind: "unblock", from: "n1", to: "n2" },
        { kind: "heal" },
      ];
      const key = faultControlKey("fc");
      await publishFault(admin, "fc", commands[0]!);
      await admin.xadd(key, "*", "foo", "bar");
      await admin.xadd(key, "*", "c", "{not json");
      await admin.xadd(key, "*", "c", JSON.stringify({ kind: "explode" }));
      await admin.xadd(key, "*", "c", JSON.stringify({ kind: "set-link-faults", from: "*", to: "*", drop: 2 }));
      await admin.xadd(key, "*", "c", JSON.stringify({ kind: "block", from: "n1" }));
      await admin.xadd(key, "*", "c", JSON.stringify({ kind: "heal" }), "c", JSON.stringify({ kind: "heal" }));
      for (const command of commands.slice(1)) await publishFault(admin, "fc", command);
      await waitFor(() => received.length === commands.length, 5000, () => JSON.stringify(received));
      expect(received).toEqual(commands);
      expect(control.stats()).toEqual({ commandsApplied: 5, commandsDropped: 6 });
      expect(other).toEqual([]);
    } finally {
      await control.close();
      await otherCluster.close();
    }
  });

  it("refuses to publish an invalid command", async () => {
    const bogus = { kind: "block", from: "n1" } as unknown as FaultCommand;
    await expect(publishFault(admin, "fc", bogus)).rejects.toBeInstanceOf(RedisNetworkConfigError);
  });

  it("validates every command shape strictly", () => {
    expect(parseFaultCommand({ kind: "heal" })).toEqual({ ok: true, command: { kind: "heal" } });
    expect(parseFaultCommand({ kind: "set-link-faults", from: "a", to: "*", reorder: 1 }).ok).toBe(true);
    expect(parseFaultCommand({ kind: "set-link-faults", from: "a", to: "*", delayMsMin: -1 }).ok).toBe(false);
    expect(parseFaultCommand({ kind: "set-link-faults", from: "", to: "*" }).ok).toBe(false);
    expect(parseFaultCommand({ kind: "partition", groups: "n1" }).ok).toBe(false);
    expect(parseFaultCommand(null).ok).toBe(false);
    expect(parseFaultCommand([]).ok).toBe(false);
  });
});
