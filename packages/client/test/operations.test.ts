import { CreateMode, EventType, NoNodeError, NodeExistsError, BadVersionError, NotEmptyError, BadArgumentsError, Perms, digestIdentity, NoAuthError } from "@corral/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { decodeUtf8, type MultiOpError } from "../src/index.js";
import { ensembleWithLeader, failure, newClient, run } from "./helpers.js";

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

describe("operations against a simulated ensemble", () => {
  it("connects, then create / getData / setData / exists / delete", async () => {
    ensemble = await ensembleWithLeader({ seed: 11 });
    const e = ensemble;
    const client = await newClient(e, "a");
    expect(client.state).toBe("connected");
    expect(client.sessionId).not.toBeNull();
    const created = await run(e, client.create("/app", "hello"));
    expect(created.path).toBe("/app");
    expect(created.stat.version).toBe(0);
    const read = await run(e, client.getData("/app"));
    expect(decodeUtf8(read.data)).toBe("hello");
    expect((await run(e, client.getString("/app"))).data).toBe("hello");
    const stat = await run(e, client.setData("/app", new Uint8Array([1, 2, 3]), 0));
    expect(stat.version).toBe(1);
    expect(await failure(e, client.setData("/app", "x", 0))).toBeInstanceOf(BadVersionError);
    expect((await run(e, client.exists("/app")))?.dataLength).toBe(3);
    expect(await run(e, client.exists("/missing"))).toBeNull();
    const missing = await failure(e, client.getData("/missing"));
    expect(missing).toBeInstanceOf(NoNodeError);
    expect((missing as NoNodeError).path).toBe("/missing");
    expect(await failure(e, client.create("/app"))).toBeInstanceOf(NodeExistsError);
    await run(e, client.create("/app/child"));
    expect(await failure(e, client.delete("/app"))).toBeInstanceOf(NotEmptyError);
    await run(e, client.delete("/app/child"));
    await run(e, client.delete("/app", 1));
    expect(await run(e, client.exists("/app"))).toBeNull();
    await run(e, client.close());
    expect(client.state).toBe("closed");
  });

  it("children, counts, sequential and ephemeral nodes, TTL, sync", async () => {
    ensemble = await ensembleWithLeader({ seed: 12 });
    const e = ensemble;
    const client = await newClient(e, "a");
    await run(e, client.create("/q"));
    const first = await run(e, client.create("/q/item-", "1", { mode: CreateMode.PersistentSequential }));
    const second = await run(e, client.create("/q/item-", "2", { mode: CreateMode.EphemeralSequential }));
    expect(first.path).toBe("/q/item-0000000000");
    expect(second.path).toBe("/q/item-0000000001");
    expect(second.stat.ephemeralOwner).toBe(client.sessionId);
    const children = await run(e, client.getChildren("/q"));
    expect(children.children).toEqual(["item-0000000000", "item-0000000001"]);
    expect(children.stat.numChildren).toBe(2);
    await run(e, client.create("/q/item-0000000000/deep"));
    expect(await run(e, client.getAllChildrenNumber("/q"))).toBe(3);
    expect(await run(e, client.getEphemerals("/q"))).toEqual(["/q/item-0000000001"]);
    await run(e, client.create("/ttl", "", { mode: CreateMode.PersistentWithTTL, ttlMs: 60_000 }));
    expect(await failure(e, client.create("/ttl2", "", { mode: CreateMode.PersistentWithTTL }))).toBeInstanceOf(BadArgumentsError);
    await run(e, client.sync("/q"));
    const linear = await run(e, client.getData("/q", { linearizable: true }));
    expect(linear.stat.numChildren).toBe(2);
    await run(e, client.close());
  });

  it("multi commits all ops with typed results, or rejects with the failing op's error and index", async () => {
    ensemble = await ensembleWithLeader({ seed: 13 });
    const e = ensemble;
    const client = await newClient(e, "a");
    const results = await run(e, client.multi().create("/m", "x").create("/m/a").setData("/m", "y").check("/m", 1).commit());
    expect(results.map((r) => r.type)).toEqual(["create", "create", "setData", "check"]);
    expect(results[0]).toMatchObject({ type: "create", path: "/m" });
    const error = (await failure(e, client.multi().create("/m/b").delete("/nope").commit())) as MultiOpError;
    expect(error).toBeInstanceOf(NoNodeError);
    expect(error.opIndex).toBe(1);
    expect(error.path).toBe("/nope");
    expect(await run(e, client.exists("/m/b"))).toBeNull();
    expect(await failure(e, client.multi().create("bad").commit())).toBeInstanceOf(BadArgumentsError);
    await run(e, client.close());
  });

  it("ACLs and digest auth", async () => {
    ensemble = await ensembleWithLeader({ seed: 14 });
    const e = ensemble;
    const owner = await newClient(e, "owner", { auth: ["alice:secret"] });
    const other = await newClient(e, "other");
    const acl = [{ perms: Perms.ALL, id: digestIdentity("alice", "secret") }];
    await run(e, owner.create("/private", "s", { acl }));
    expect((await run(e, owner.getACL("/private"))).acl).toEqual(acl);
    expect(await failure(e, other.getData("/private"))).toBeInstanceOf(NoAuthError);
    // Pipelined with the read: the node (sessions-actor flush) only sends an addAuth answer once another request follows it.
    const authed = other.addAuth("digest", "alice:secret");
    const read = other.getData("/private");
    await run(e, authed);
    expect(decodeUtf8((await run(e, read)).data)).toBe("s");
    const stat = await run(e, owner.setACL("/private", [{ perms: Perms.READ, id: { scheme: "world", id: "anyone" } }], 0));
    expect(stat.aversion).toBe(1);
    await run(e, owner.close());
    await run(e, other.close());
  });

  it("chroot prefixes paths on the way out and strips them from results and events", async () => {
    ensemble = await ensembleWithLeader({ seed: 15 });
    const e = ensemble;
    const root = await newClient(e, "root");
    await run(e, root.create("/tenant"));
    const client = await newClient(e, "chrooted", { chroot: "/tenant" });
    const events: { type: number; path: string }[] = [];
    expect(await run(e, client.exists("/a", { watch: (event) => events.push(event) }))).toBeNull();
    const created = await run(e, client.create("/a", "v"));
    expect(created.path).toBe("/a");
    expect(decodeUtf8((await run(e, root.getData("/tenant/a"))).data)).toBe("v");
    expect(await e.runUntil(() => events.length > 0, 5_000)).toBe(true);
    expect(events).toEqual([expect.objectContaining({ type: EventType.NodeCreated, path: "/a" })]);
    expect((await run(e, client.getChildren("/"))).children).toEqual(["a"]);
    const seq = await run(e, client.create("/s-", "", { mode: CreateMode.EphemeralSequential }));
    expect(seq.path.startsWith("/s-")).toBe(true);
    expect(await run(e, client.getEphemerals())).toEqual([seq.path]);
    expect(((await failure(e, client.getData("/missing"))) as NoNodeError).path).toBe("/missing");
    await run(e, client.close());
    await run(e, root.close());
  });
});
