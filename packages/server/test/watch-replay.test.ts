/**
 * Persistent and persistent-recursive watches across a reconnect: the node
 * replays the changes the client missed from its recent change history
 * (exactly, deletions included, in zxid order, once), and says so with
 * `watchGap` when its history no longer reaches back to the client's
 * lastZxidSeen. Each on a seeded simulated ensemble.
 */
import { describe, expect, it } from "vitest";
import { AddWatchMode, EventType, emptyWatchSet, type NodeMessage, type WatchSet } from "@corral/protocol";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { awaitResponse, connectedClient, create, ensembleWithLeader, follower, setData } from "./helpers.js";
import type { SessionDriver } from "./support/session-driver.js";

const recursiveOnApp: WatchSet = { ...emptyWatchSet, persistentRecursive: ["/app"] };

type Connected = Extract<NodeMessage, { type: "connected" }>;
const lastConnected = (client: SessionDriver): Connected => [...client.received].reverse().find((m): m is Connected => m.type === "connected")!;
const connectedCount = (client: SessionDriver): number => client.received.filter((m) => m.type === "connected").length;
const eventsAfter = (client: SessionDriver, index: number) =>
  client.received.slice(index).filter((m): m is Extract<NodeMessage, { type: "event" }> => m.type === "event").map((e) => ({ path: e.path, event: e.event, zxid: e.zxid }));

/** /app with y and z, a client watching /app recursively; then the client is cut off while x is created, y changed, z deleted. */
async function cutOffWhileAppChanges(ensemble: SimEnsemble): Promise<{ client: SessionDriver; other: SessionDriver; zxids: { x: number; y: number; z: number } }> {
  const client = await connectedClient(ensemble, "watcher", follower(ensemble, 0));
  const other = await connectedClient(ensemble, "writer", follower(ensemble, 1));
  await awaitResponse(ensemble, other, other.send(create("/app")));
  await awaitResponse(ensemble, other, other.send(create("/app/y", "0")));
  await awaitResponse(ensemble, other, other.send(create("/app/z")));
  expect(await ensemble.converge()).toBe(true);
  expect((await awaitResponse(ensemble, client, client.send({ type: "addWatch", path: "/app", mode: AddWatchMode.PersistentRecursive }))).result.type).toBe("addWatch");
  client.vanish();
  const x = (await awaitResponse(ensemble, other, other.send(create("/app/x")))).zxid;
  const y = (await awaitResponse(ensemble, other, other.send(setData("/app/y", "1")))).zxid;
  const z = (await awaitResponse(ensemble, other, other.send({ type: "delete", path: "/app/z", version: -1 }))).zxid;
  await awaitResponse(ensemble, other, other.send(create("/elsewhere")));
  expect(await ensemble.converge()).toBe(true);
  return { client, other, zxids: { x, y, z } };
}

describe("persistent watches across a reconnect", () => {
  it("a recursive watch gets exactly the missed creation, change and deletion, in zxid order, once, on another node", async () => {
    const ensemble = await ensembleWithLeader({ seed: 61 });
    const { client, zxids } = await cutOffWhileAppChanges(ensemble);
    const before = client.received.length;
    client.connect(follower(ensemble, 1), { watches: recursiveOnApp });
    expect(await ensemble.runUntil(() => client.connected, 10_000)).toBe(true);
    expect(await ensemble.runUntil(() => eventsAfter(client, before).length >= 3, 10_000)).toBe(true);
    // Give any duplicate or stray event time to show up.
    await ensemble.runFor(2_000);
    expect(lastConnected(client).watchGap).toBeUndefined();
    expect(eventsAfter(client, before)).toEqual([
      { path: "/app/x", event: EventType.NodeCreated, zxid: zxids.x },
      { path: "/app/y", event: EventType.NodeDataChanged, zxid: zxids.y },
      { path: "/app/z", event: EventType.NodeDeleted, zxid: zxids.z },
    ]);
    expect(ensemble.status().reduce((sum, s) => sum + s.counters.watchGaps, 0)).toBe(0);
    await ensemble.close();
  });

  it("the watch stays registered after the replay: later changes fire live", async () => {
    const ensemble = await ensembleWithLeader({ seed: 62 });
    const { client, other } = await cutOffWhileAppChanges(ensemble);
    const replayedFrom = client.received.length;
    client.connect(follower(ensemble, 1), { watches: recursiveOnApp });
    expect(await ensemble.runUntil(() => client.connected && eventsAfter(client, replayedFrom).length >= 3, 10_000)).toBe(true);
    const before = client.received.length;
    const later = (await awaitResponse(ensemble, other, other.send(create("/app/later")))).zxid;
    expect(await ensemble.runUntil(() => eventsAfter(client, before).length >= 1, 10_000)).toBe(true);
    await ensemble.runFor(1_000);
    expect(eventsAfter(client, before)).toEqual([{ path: "/app/later", event: EventType.NodeCreated, zxid: later }]);
    await ensemble.close();
  });

  it("a history too short for the absence (2 changes) sends what the tree shows and sets watchGap", async () => {
    const ensemble = await ensembleWithLeader({ seed: 63, config: { watchReplayMaxChanges: 2 } });
    const { client, zxids } = await cutOffWhileAppChanges(ensemble);
    const before = client.received.length;
    const node = follower(ensemble, 1);
    client.connect(node, { watches: recursiveOnApp });
    expect(await ensemble.runUntil(() => client.connected, 10_000)).toBe(true);
    expect(await ensemble.runUntil(() => eventsAfter(client, before).length >= 2, 10_000)).toBe(true);
    await ensemble.runFor(2_000);
    expect(lastConnected(client).watchGap).toBe(true);
    // The deletion of /app/z left no trace in the tree: only the gap flag tells.
    expect(eventsAfter(client, before)).toEqual([
      { path: "/app/x", event: EventType.NodeCreated, zxid: zxids.x },
      { path: "/app/y", event: EventType.NodeDataChanged, zxid: zxids.y },
    ]);
    expect(ensemble.status().find((s) => s.id === node)?.counters.watchGaps).toBe(1);
    await ensemble.close();
  });

  it("reconnecting to the same node never repeats an event the client already got", async () => {
    const ensemble = await ensembleWithLeader({ seed: 64 });
    const node = follower(ensemble, 0);
    const client = await connectedClient(ensemble, "watcher", node);
    const other = await connectedClient(ensemble, "writer", follower(ensemble, 1));
    await awaitResponse(ensemble, other, other.send(create("/app")));
    expect(await ensemble.converge()).toBe(true);
    await awaitResponse(ensemble, client, client.send({ type: "addWatch", path: "/app", mode: AddWatchMode.Persistent }));
    await awaitResponse(ensemble, client, client.send({ type: "addWatch", path: "/app", mode: AddWatchMode.PersistentRecursive }));
    // Seen live: a creation (two watches, one event) and a data change.
    const a = (await awaitResponse(ensemble, other, other.send(create("/app/a")))).zxid;
    const changed = (await awaitResponse(ensemble, other, other.send(setData("/app", "1")))).zxid;
    expect(await ensemble.runUntil(() => client.events().length >= 3, 10_000)).toBe(true);
    const watches: WatchSet = { ...emptyWatchSet, persistent: ["/app"], persistentRecursive: ["/app"] };
    // Back to the same node with nothing new: nothing is re-sent.
    client.vanish();
    client.connect(node, { watches });
    expect(await ensemble.runUntil(() => connectedCount(client) === 2, 10_000)).toBe(true);
    // Missed while away, then back to the same node again.
    client.vanish();
    const deleted = (await awaitResponse(ensemble, other, other.send({ type: "delete", path: "/app/a", version: -1 }))).zxid;
    expect(await ensemble.converge()).toBe(true);
    client.connect(node, { watches });
    expect(await ensemble.runUntil(() => connectedCount(client) === 3 && client.events().length >= 5, 10_000)).toBe(true);
    await ensemble.runFor(2_000);
    expect(client.events().map((e) => ({ path: e.path, event: e.event, zxid: e.zxid }))).toEqual([
      { path: "/app/a", event: EventType.NodeCreated, zxid: a },
      { path: "/app", event: EventType.NodeChildrenChanged, zxid: a },
      { path: "/app", event: EventType.NodeDataChanged, zxid: changed },
      { path: "/app/a", event: EventType.NodeDeleted, zxid: deleted },
      { path: "/app", event: EventType.NodeChildrenChanged, zxid: deleted },
    ]);
    await ensemble.close();
  });
});
