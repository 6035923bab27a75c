import { describe, expect, it } from "vitest";
import { CreateMode } from "@corral/protocol";
import { createSimEnsemble } from "../../../test/support/sim-ensemble.js";
import { awaitResponse, connectedClient, create, ensembleWithLeader, follower, setData } from "./helpers.js";

describe("exactly-once across leader failover", () => {
  it("a write whose answer was lost when the leader died is answered from the session table on the new leader's side", async () => {
    const ensemble = await ensembleWithLeader({ seed: 121 });
    const leader = ensemble.leader()!.id;
    const client = await connectedClient(ensemble, "lf", leader);
    await awaitResponse(ensemble, client, client.send(create("/q")));
    ensemble.fault({ kind: "block", from: leader, to: client.clientId });
    const xid = client.send(create("/q/item-", "", CreateMode.PersistentSequential));
    const others = ensemble.nodeIds.filter((id) => id !== leader);
    const baseline = ensemble.node(others[0]!)!.status().appliedIndex;
    expect(await ensemble.runUntil(() => others.every((id) => ensemble.node(id)!.status().appliedIndex > baseline), 5_000)).toBe(true);
    await ensemble.crash(leader, { loseUnsynced: true });
    client.connect(others[1]!);
    expect(await ensemble.runUntil(() => client.connected, 10_000)).toBe(true);
    const again = await awaitResponse(ensemble, client, client.resend(xid));
    expect(again.result).toMatchObject({ type: "create", path: "/q/item-0000000000" });
    // A later write continues the session's order.
    const next = await awaitResponse(ensemble, client, client.send(create("/q/item-", "", CreateMode.PersistentSequential)));
    expect(next.result).toMatchObject({ type: "create", path: "/q/item-0000000001" });
    await ensemble.close();
  });
});

describe("five nodes", () => {
  it("keep serving with two nodes down and converge when they return", async () => {
    const ensemble = await ensembleWithLeader({ seed: 131, nodes: 5 });
    const client = await connectedClient(ensemble, "five", follower(ensemble, 0));
    const down = [follower(ensemble, 1), follower(ensemble, 2)];
    for (const id of down) await ensemble.crash(id);
    for (let i = 0; i < 10; i++) await awaitResponse(ensemble, client, client.send(create(`/f${i}`)));
    await awaitResponse(ensemble, client, client.send(setData("/f0", "x")));
    for (const id of down) await ensemble.restart(id);
    expect(await ensemble.converge(20_000)).toBe(true);
    expect(new Set(Object.values(ensemble.digests()).map((d) => d.digest)).size).toBe(1);
    await ensemble.close();
  });
});

describe("determinism", () => {
  it("the same seed replays the same run", async () => {
    const run = async (): Promise<string> => {
      const ensemble = await createSimEnsemble({ seed: 141, faults: { drop: 0.02, reorder: 0.05 } });
      await ensemble.waitForLeader();
      const client = await connectedClient(ensemble, "det", follower(ensemble));
      for (let i = 0; i < 5; i++) client.send(create(`/det${i}`));
      await ensemble.runFor(3_000);
      const hash = `${ensemble.sim.traceHash()}:${Object.values(ensemble.digests()).map((d) => d.digest).join(",")}`;
      await ensemble.close();
      return hash;
    };
    expect(await run()).toBe(await run());
  });
});
