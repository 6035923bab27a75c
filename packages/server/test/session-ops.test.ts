import { describe, expect, it } from "vitest";
import { AddWatchMode, CreateMode, ErrorCode, EventType } from "@corral/protocol";
import { awaitResponse, connectedClient, create, ensembleWithLeader, follower, getData, setData, text } from "./helpers.js";
import { SessionDriver } from "./support/session-driver.js";

describe("session operations", () => {
  it("close ends the session and deletes its ephemerals at once", async () => {
    const ensemble = await ensembleWithLeader({ seed: 111 });
    const owner = await connectedClient(ensemble, "closer", follower(ensemble, 0), 30_000);
    const observer = await connectedClient(ensemble, "obs", follower(ensemble, 1), 30_000);
    await awaitResponse(ensemble, owner, owner.send(create("/mine", "", CreateMode.Ephemeral)));
    owner.close();
    expect(await ensemble.runUntil(() => owner.received.some((m) => m.type === "sessionEnded"), 5_000)).toBe(true);
    expect(owner.received.find((m) => m.type === "sessionEnded")).toMatchObject({ code: ErrorCode.Ok });
    const seen = await awaitResponse(ensemble, observer, observer.send({ type: "exists", path: "/mine" }));
    expect(seen.result.type === "exists" && seen.result.stat).toBeNull();
    // The ended session cannot be resumed anywhere.
    owner.connect(follower(ensemble, 1));
    expect(await ensemble.runUntil(() => owner.received.some((m) => m.type === "connectFailed"))).toBe(true);
    expect(owner.received.find((m) => m.type === "connectFailed")).toMatchObject({ code: ErrorCode.SessionExpired });
    await ensemble.close();
  });

  it("sync makes a follower catch up with the leader before later reads", async () => {
    const ensemble = await ensembleWithLeader({ seed: 112 });
    const leader = ensemble.leader()!.id;
    const writer = await connectedClient(ensemble, "w", leader);
    const reader = await connectedClient(ensemble, "r", follower(ensemble, 0));
    const written = await awaitResponse(ensemble, writer, writer.send(create("/s", "fresh")));
    const synced = await awaitResponse(ensemble, reader, reader.send({ type: "sync", path: "/s" }));
    expect(synced.result).toEqual({ type: "sync", path: "/s" });
    expect(synced.zxid).toBeGreaterThanOrEqual(written.zxid);
    const read = await awaitResponse(ensemble, reader, reader.send(getData("/s")));
    expect(read.result.type === "getData" && text(read.result.data)).toBe("fresh");
    await ensemble.close();
  });

  it("persistent recursive watches fire for every change below and keep firing", async () => {
    const ensemble = await ensembleWithLeader({ seed: 113 });
    const client = await connectedClient(ensemble, "pw", follower(ensemble));
    await awaitResponse(ensemble, client, client.send(create("/tree", "")));
    const added = await awaitResponse(ensemble, client, client.send({ type: "addWatch", path: "/tree", mode: AddWatchMode.PersistentRecursive }));
    expect(added.result).toEqual({ type: "addWatch" });
    await awaitResponse(ensemble, client, client.send(create("/tree/a", "")));
    await awaitResponse(ensemble, client, client.send(setData("/tree/a", "1")));
    await awaitResponse(ensemble, client, client.send(setData("/tree/a", "2")));
    const events = client.events().map((e) => [e.event, e.path]);
    expect(events).toEqual([
      [EventType.NodeCreated, "/tree/a"],
      [EventType.NodeDataChanged, "/tree/a"],
      [EventType.NodeDataChanged, "/tree/a"],
    ]);
    const removed = await awaitResponse(ensemble, client, client.send({ type: "removeWatches", path: "/tree", watcherType: 3 }));
    expect(removed.result).toEqual({ type: "removeWatches" });
    const again = await awaitResponse(ensemble, client, client.send({ type: "removeWatches", path: "/tree", watcherType: 3 }));
    expect(again.result).toMatchObject({ type: "error", code: ErrorCode.NoWatcher });
    await ensemble.close();
  });

  it("holds requests pipelined behind connect and answers them in order once the session is open", async () => {
    const ensemble = await ensembleWithLeader({ seed: 114 });
    const client = new SessionDriver("c-eager", ensemble.clientEnv("eager"));
    await client.open();
    client.connect(follower(ensemble));
    const first = client.send(create("/eager", "1"));
    const second = client.send(getData("/eager"));
    const read = await awaitResponse(ensemble, client, second);
    expect(client.response(first)?.result.type).toBe("create");
    expect(read.result.type === "getData" && text(read.result.data)).toBe("1");
    const order = client.received.map((m) => m.type);
    expect(order.indexOf("connected")).toBeLessThan(order.indexOf("response"));
    await ensemble.close();
  });
});

describe("reaping", () => {
  it("the leader deletes an emptied container and an idle TTL node, and nothing else", async () => {
    const ensemble = await ensembleWithLeader({ seed: 115 });
    const client = await connectedClient(ensemble, "reaper", follower(ensemble), 30_000);
    await awaitResponse(ensemble, client, client.send(create("/box", "", CreateMode.Container)));
    await awaitResponse(ensemble, client, client.send(create("/box/item", "")));
    await awaitResponse(ensemble, client, client.send({ type: "create", path: "/ttl", data: new Uint8Array(), acl: [{ perms: 31, id: { scheme: "world", id: "anyone" } }], mode: CreateMode.PersistentWithTTL, ttlMs: 2_000 }));
    await awaitResponse(ensemble, client, client.send(create("/keep", "")));
    await ensemble.runFor(1_500);
    const exists = async (path: string): Promise<boolean> => {
      const response = await awaitResponse(ensemble, client, client.send({ type: "exists", path }));
      return response.result.type === "exists" && response.result.stat !== null;
    };
    expect(await exists("/box")).toBe(true);
    expect(await exists("/ttl")).toBe(true);
    await awaitResponse(ensemble, client, client.send({ type: "delete", path: "/box/item", version: -1 }));
    await ensemble.runFor(4_000);
    expect(await exists("/box")).toBe(false);
    expect(await exists("/ttl")).toBe(false);
    expect(await exists("/keep")).toBe(true);
    expect(await ensemble.converge()).toBe(true);
    await ensemble.close();
  });
});
