/**
 * Persistent and persistent-recursive watches across a reconnect, through the
 * client: the events missed while cut off arrive once, in zxid order,
 * deletions included; when the node's change history does not reach back,
 * the "connected" state change says `watchGap: true`.
 */
import { AddWatchMode, EventType } from "@corral/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import type { CorralClient, StateChange, WatchedEvent } from "../src/index.js";
import { ensembleWithLeader, newClient, run } from "./helpers.js";

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

/** A client watching /app recursively is cut off while /app/x is created, /app/y changed and /app/z deleted; it comes back on another node. */
async function missWhileAway(e: SimEnsemble): Promise<{ client: CorralClient; seen: WatchedEvent[]; states: StateChange[]; zxids: number[] }> {
  const client = await newClient(e, "watcher");
  const writer = await newClient(e, "writer");
  await run(e, writer.create("/app"));
  await run(e, writer.create("/app/y", "0"));
  await run(e, writer.create("/app/z"));
  const seen: WatchedEvent[] = [];
  await run(e, client.addWatch("/app", AddWatchMode.PersistentRecursive, (event) => seen.push(event)));
  await run(e, client.sync("/"));
  const states: StateChange[] = [];
  client.on("state", (change) => states.push(change));
  const node = client.nodeId!;
  e.partition([[client.clientId], [...e.nodeIds]]);
  const x = await run(e, writer.create("/app/x"));
  const y = await run(e, writer.setData("/app/y", "1"));
  await run(e, writer.delete("/app/z"));
  const deleted = (await run(e, writer.exists("/app")))!.pzxid;
  expect(await e.converge()).toBe(true);
  e.heal();
  e.fault({ kind: "block", from: node, to: client.clientId });
  e.fault({ kind: "block", from: client.clientId, to: node });
  expect(await e.runUntil(() => client.state === "connected" && client.nodeId !== node && seen.length >= 2, 30_000)).toBe(true);
  await e.runFor(2_000);
  await run(e, writer.close());
  return { client, seen, states, zxids: [x.stat.czxid, y.mzxid, deleted] };
}

describe("persistent watches across a reconnect (client)", () => {
  it("the missed creation, change and deletion arrive once, in zxid order, with no gap", async () => {
    ensemble = await ensembleWithLeader({ seed: 71 });
    const { client, seen, states, zxids } = await missWhileAway(ensemble);
    expect(seen.map((event) => [event.type, event.path, event.zxid])).toEqual([
      [EventType.NodeCreated, "/app/x", zxids[0]],
      [EventType.NodeDataChanged, "/app/y", zxids[1]],
      [EventType.NodeDeleted, "/app/z", zxids[2]],
    ]);
    const connected = states.filter((change) => change.state === "connected");
    expect(connected).toHaveLength(1);
    expect(connected[0]!.watchGap).toBeUndefined();
    expect(client.stats().watchGaps).toBe(0);
    await run(ensemble, client.close());
  });

  it("a node whose history is too short says watchGap, after sending what the tree shows", async () => {
    ensemble = await ensembleWithLeader({ seed: 72, config: { watchReplayMaxChanges: 2 } });
    const { client, seen, states, zxids } = await missWhileAway(ensemble);
    expect(seen.map((event) => [event.type, event.path, event.zxid])).toEqual([
      [EventType.NodeCreated, "/app/x", zxids[0]],
      [EventType.NodeDataChanged, "/app/y", zxids[1]],
    ]);
    expect(states.filter((change) => change.state === "connected").map((change) => change.watchGap)).toEqual([true]);
    expect(client.stats().watchGaps).toBe(1);
    await run(ensemble, client.close());
  });
});
