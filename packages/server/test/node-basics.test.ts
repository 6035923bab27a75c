import { describe, expect, it } from "vitest";
import { createSimEnsemble } from "../../../test/support/sim-ensemble.js";
import { awaitResponse, connectedClient, create, ensembleWithLeader, follower, getData, text } from "./helpers.js";

describe("a simulated 3-node ensemble", () => {
  it("elects one leader and commits its first entry on every node", async () => {
    const ensemble = await createSimEnsemble({ seed: 1 });
    const leader = await ensemble.waitForLeader();
    expect(ensemble.status().filter((s) => s.role === "leader")).toHaveLength(1);
    expect(await ensemble.runUntil(() => leader.status().commitIndex > 0)).toBe(true);
    expect(await ensemble.converge()).toBe(true);
    expect(ensemble.status().every((s) => s.appliedIndex >= 1 && s.leader === leader.id)).toBe(true);
    await ensemble.close();
  });

  it("serves create then getData through a follower", async () => {
    const ensemble = await ensembleWithLeader({ seed: 2 });
    const nodeId = follower(ensemble);
    const client = await connectedClient(ensemble, "a", nodeId);
    const created = await awaitResponse(ensemble, client, client.send(create("/app", "hello")));
    expect(created.result).toMatchObject({ type: "create", path: "/app" });
    const read = await awaitResponse(ensemble, client, client.send(getData("/app")));
    expect(read.result.type).toBe("getData");
    if (read.result.type === "getData") expect(text(read.result.data)).toBe("hello");
    expect(read.zxid).toBeGreaterThanOrEqual(created.zxid);
    expect(await ensemble.converge()).toBe(true);
    const digests = Object.values(ensemble.digests()).map((d) => d.digest);
    expect(new Set(digests).size).toBe(1);
    await ensemble.close();
  });
});

describe("session creation", () => {
  it("re-sent createSession requests open one session per client, even when commits are slow", async () => {
    // Slow links make the commit take longer than the node's re-send period.
    const ensemble = await ensembleWithLeader({ seed: 3 });
    ensemble.fault({ kind: "set-link-faults", from: "*", to: "*", delayMsMin: 60, delayMsMax: 90 });
    for (let i = 0; i < 4; i++) await connectedClient(ensemble, `many${i}`, follower(ensemble, i % 2), 20_000);
    await ensemble.converge();
    expect(ensemble.status().map((s) => s.sessions)).toEqual([4, 4, 4]);
    await ensemble.close();
  });
});
