/**
 * Corral's client and recipes against a real Apache ZooKeeper 3.8 over
 * ZooKeeper's wire protocol (issue 14: "the client can also talk to an Apache
 * ZooKeeper server"; issue 19: "recipes run unchanged against ZooKeeper").
 * Everything here is what a ZooKeeper user relies on: typed errors, Stat,
 * watches, ephemerals, sequential names, multi, digest ACLs, chroot.
 */
import { connect, type CorralClient } from "@corral/client";
import { CREATOR_ALL_ACL, CreateMode, Perms } from "@corral/protocol";
import { recipes } from "@corral/recipes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

let zk: ZooKeeperServer;
const clients: CorralClient[] = [];

async function client(options: { auth?: string[]; chroot?: string } = {}): Promise<CorralClient> {
  const c = await connect({ servers: zk.connectString + (options.chroot ?? ""), sessionTimeoutMs: 10_000, ...(options.auth ? { auth: options.auth } : {}) });
  clients.push(c);
  return c;
}

const tag = (error: unknown): string | undefined => (error as { _tag?: string })._tag;

beforeAll(async () => {
  zk = await startZooKeeper();
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await zk?.stop();
});

describe("the client against Apache ZooKeeper 3.8", () => {
  it("creates, reads, updates, lists and deletes with ZooKeeper's Stat and typed errors", async () => {
    const c = await client();
    const created = await c.create("/basic", "v1");
    expect(created.path).toBe("/basic");
    const read = await c.getData("/basic");
    expect(new TextDecoder().decode(read.data)).toBe("v1");
    expect(read.stat).toMatchObject({ version: 0, dataLength: 2, numChildren: 0 });
    expect(read.stat.czxid).toBeGreaterThan(0);
    const updated = await c.setData("/basic", "v2", 0);
    expect(updated.version).toBe(1);
    expect(tag(await c.setData("/basic", "v3", 0).catch((e: unknown) => e))).toBe("BadVersion");
    expect(tag(await c.create("/basic", "again").catch((e: unknown) => e))).toBe("NodeExists");
    expect(tag(await c.getData("/missing").catch((e: unknown) => e))).toBe("NoNode");
    expect(await c.exists("/missing")).toBeNull();
    await c.create("/basic/child", "");
    expect(tag(await c.delete("/basic").catch((e: unknown) => e))).toBe("NotEmpty");
    expect((await c.getChildren("/basic")).children).toEqual(["child"]);
    await c.delete("/basic/child");
    await c.delete("/basic", 1);
    expect(await c.exists("/basic")).toBeNull();
  });

  it("fires a one-shot data watch once, and a child watch, with the changed path", async () => {
    const c = await client();
    const other = await client();
    await c.create("/w", "0");
    const data: number[] = [];
    const children: string[] = [];
    await c.getData("/w", { watch: (event) => data.push(event.type) });
    await c.getChildren("/w", { watch: (event) => children.push(event.path) });
    await other.setData("/w", "1");
    await other.setData("/w", "2");
    await other.create("/w/kid", "");
    // A read after the changes on the watcher's own session: ZooKeeper sends events before later replies.
    await c.sync("/w");
    await c.getData("/w");
    expect(data).toEqual([3]);
    expect(children).toEqual(["/w"]);
  });

  it("names sequential nodes with ZooKeeper's 10-digit suffix and removes ephemerals with their session", async () => {
    const owner = await client();
    const observer = await client();
    await observer.create("/eph", "");
    const a = await owner.create("/eph/n-", "", { mode: CreateMode.EphemeralSequential });
    const b = await owner.create("/eph/n-", "", { mode: CreateMode.EphemeralSequential });
    expect(a.path).toMatch(/^\/eph\/n-\d{10}$/);
    expect(Number(b.path.slice(-10))).toBe(Number(a.path.slice(-10)) + 1);
    expect((await observer.getData(a.path)).stat.ephemeralOwner).not.toBe(0);
    await owner.close();
    expect((await observer.getChildren("/eph")).children).toEqual([]);
  });

  it("applies a multi atomically and reports the failing op", async () => {
    const c = await client();
    await c.create("/m", "");
    const results = await c.multi().create("/m/a").setData("/m", "x", 0).commit();
    expect(results.map((r) => r.type)).toEqual(["create", "setData"]);
    const failed = await c.multi().create("/m/b").check("/m", 0).commit().catch((e: unknown) => e);
    expect(tag(failed)).toBe("BadVersion");
    expect((failed as { opIndex?: number }).opIndex).toBe(1);
    expect(await c.exists("/m/b")).toBeNull();
  });

  it("enforces digest ACLs: the creator reads, an unauthenticated client gets NoAuth", async () => {
    const alice = await client({ auth: ["alice:secret"] });
    const anonymous = await client();
    await alice.create("/private", "mine", { acl: CREATOR_ALL_ACL });
    expect(new TextDecoder().decode((await alice.getData("/private")).data)).toBe("mine");
    expect(tag(await anonymous.getData("/private").catch((e: unknown) => e))).toBe("NoAuth");
    const acl = await alice.getACL("/private");
    expect(acl.acl).toEqual([{ perms: Perms.ALL, id: { scheme: "digest", id: expect.stringMatching(/^alice:/) } }]);
  });

  it("takes paths relative to a chroot given in the connect string", async () => {
    const root = await client();
    await root.create("/chroot-app", "");
    const scoped = await client({ chroot: "/chroot-app" });
    await scoped.create("/inside", "1");
    expect(await root.exists("/chroot-app/inside")).not.toBeNull();
    expect((await scoped.getChildren("/")).children).toEqual(["inside"]);
  });
});

// As a Curator or kazoo user writes them: no clock, no random, no environment (issue 19).
describe("recipes against Apache ZooKeeper 3.8", () => {
  it("Mutex: one holder at a time; the waiter gets it on release with a larger fencing token", async () => {
    const first = recipes(await client()).lock("/recipes/lock");
    const second = recipes(await client()).lock("/recipes/lock");
    const hold = await first.acquire();
    let secondHeld = false;
    const waiting = second.acquire({ timeoutMs: 20_000 }).then((h) => {
      secondHeld = true;
      return h;
    });
    await (await client()).sync("/recipes/lock");
    expect(secondHeld).toBe(false);
    await first.release();
    const next = await waiting;
    expect(next.fencingToken).toBeGreaterThan(hold.fencingToken);
    await second.release();
  });

  it("LeaderLatch: exactly one leader; leadership moves when the leader's session closes", async () => {
    const leaderClient = await client();
    const a = recipes(leaderClient).leaderLatch("/recipes/latch");
    await a.start();
    const b = recipes(await client()).leaderLatch("/recipes/latch");
    const bLeads = new Promise<void>((resolve) => b.on("isLeader", () => resolve()));
    await b.start();
    expect(a.hasLeadership()).toBe(true);
    expect(b.hasLeadership()).toBe(false);
    await leaderClient.close();
    await bLeads;
    expect(b.hasLeadership()).toBe(true);
    await b.close();
  });

  it("DistributedQueue: items come out once, in order", async () => {
    const producer = recipes(await client()).queue("/recipes/queue");
    const consumer = recipes(await client()).queue("/recipes/queue");
    for (const item of ["a", "b", "c"]) await producer.put(item);
    const out: string[] = [];
    for (let i = 0; i < 3; i++) out.push(new TextDecoder().decode(await consumer.take({ timeoutMs: 10_000 })));
    expect(out).toEqual(["a", "b", "c"]);
  });

  it("Barrier: waiters proceed only once it is removed", async () => {
    const barrier = recipes(await client()).barrier("/recipes/barrier");
    await barrier.set();
    const waiter = recipes(await client()).barrier("/recipes/barrier");
    let passed = false;
    const waiting = waiter.wait({ timeoutMs: 20_000 }).then(() => (passed = true));
    await (await client()).sync("/recipes/barrier");
    expect(passed).toBe(false);
    await barrier.remove();
    await waiting;
    expect(passed).toBe(true);
  });
});
