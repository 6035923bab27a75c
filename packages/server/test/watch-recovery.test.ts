/**
 * Watches across the two ways a node's view jumps ahead of what its clients
 * were told: a snapshot installed into a running follower (the entries it
 * covers are never applied there), and a client resuming its session on
 * another node with the last zxid it saw (ZooKeeper's SetWatches). Each on a
 * seeded simulated ensemble.
 */
import { describe, expect, it } from "vitest";
import { EventType, emptyWatchSet } from "@corral/protocol";
import { awaitResponse, connectedClient, create, ensembleWithLeader, follower, getData, setData, text } from "./helpers.js";

describe("watches across a snapshot install", () => {
  it("a follower that installs a snapshot fires the watches the skipped entries changed, before the new data", async () => {
    const ensemble = await ensembleWithLeader({ seed: 7, config: { snapshotEveryEntries: 20 } });
    const lagging = follower(ensemble, 0);
    const others = ensemble.nodeIds.filter((id) => id !== lagging);
    const watcher = await connectedClient(ensemble, "watcher", lagging);
    const writer = await connectedClient(ensemble, "writer", follower(ensemble, 1));
    await awaitResponse(ensemble, writer, writer.send(create("/s", "v0")));
    await awaitResponse(ensemble, writer, writer.send(create("/gone", "v0")));
    expect(await ensemble.converge()).toBe(true);
    await awaitResponse(ensemble, watcher, watcher.send(getData("/s", true)));
    await awaitResponse(ensemble, watcher, watcher.send(getData("/gone", true)));
    // Cut the watcher's node off (the watcher stays with it) while the rest write enough to compact their logs.
    ensemble.partition([[lagging, watcher.clientId], [...others, writer.clientId]]);
    await awaitResponse(ensemble, writer, writer.send(setData("/s", "v1")));
    await awaitResponse(ensemble, writer, writer.send({ type: "delete", path: "/gone", version: -1 }));
    for (let i = 0; i < 60; i++) await awaitResponse(ensemble, writer, writer.send(create(`/filler${i}`)));
    const taken = ensemble.status().filter((s) => s.id !== lagging).reduce((sum, s) => sum + s.counters.snapshotsTaken, 0);
    expect(taken).toBeGreaterThan(0);
    ensemble.heal();
    expect(await ensemble.converge(20_000)).toBe(true);
    // Read until the new data shows; the events must already be there.
    let newAt = -1;
    for (let i = 0; i < 50 && newAt < 0; i++) {
      const read = await awaitResponse(ensemble, watcher, watcher.send(getData("/s")));
      if (read.result.type === "getData" && text(read.result.data) === "v1") newAt = watcher.received.indexOf(read);
    }
    expect(newAt).toBeGreaterThan(-1);
    const changedAt = watcher.received.findIndex((m) => m.type === "event" && m.path === "/s" && m.event === EventType.NodeDataChanged);
    const deletedAt = watcher.received.findIndex((m) => m.type === "event" && m.path === "/gone" && m.event === EventType.NodeDeleted);
    expect(changedAt).toBeGreaterThan(-1);
    expect(changedAt).toBeLessThan(newAt);
    expect(deletedAt).toBeGreaterThan(-1);
    // One-shot: nothing fires twice.
    expect(watcher.events().filter((e) => e.path === "/s")).toHaveLength(1);
    await ensemble.close();
  });
});

describe("watches across a reconnect", () => {
  it("sends the missed events in zxid order, whatever kind of watch they fire", async () => {
    const ensemble = await ensembleWithLeader({ seed: 44 });
    const client = await connectedClient(ensemble, "rewatch", follower(ensemble, 0));
    const other = await connectedClient(ensemble, "other", follower(ensemble, 1));
    await awaitResponse(ensemble, client, client.send(create("/a", "0")));
    await awaitResponse(ensemble, client, client.send(create("/b", "0")));
    await awaitResponse(ensemble, client, client.send(getData("/a", true)));
    await awaitResponse(ensemble, client, client.send(getData("/b", true)));
    client.vanish();
    // /b changes first, then /a goes: /a's NodeDeleted (a data watch listed first) is the later event.
    await awaitResponse(ensemble, other, other.send(setData("/b", "1")));
    await awaitResponse(ensemble, other, other.send({ type: "delete", path: "/a", version: -1 }));
    await awaitResponse(ensemble, other, other.send(create("/c", "0")));
    await ensemble.converge();
    client.connect(follower(ensemble, 1), { watches: { ...emptyWatchSet, data: ["/a", "/b"] } });
    expect(await ensemble.runUntil(() => client.events().length >= 2)).toBe(true);
    const missed = client.events().map((e) => ({ path: e.path, event: e.event, zxid: e.zxid }));
    expect(missed.map((e) => [e.path, e.event])).toEqual([
      ["/b", EventType.NodeDataChanged],
      ["/a", EventType.NodeDeleted],
    ]);
    expect(missed[0]!.zxid).toBeLessThan(missed[1]!.zxid);
    await ensemble.close();
  });
});
