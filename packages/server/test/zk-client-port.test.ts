/**
 * The ZooKeeper-wire client plane over the simulated stream (the client
 * port's twin): a real 3-node ensemble on the simulated clock and network,
 * clients speaking jute through SimClientStream. Connect, every op, watches,
 * SetWatches after a move to another node, auth, refused passwords,
 * malformed packets, unknown opcodes, the per-connection bounds, timeouts,
 * and SessionMoved for a write still in flight from the old connection.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, EventType, ZkXid, type ZkRequest, type ZkResponse } from "@corral/protocol";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { ZkSimClient, type ZkConnectOptions } from "../../../test/support/zk-sim-client.js";
import { ensembleWithLeader, follower } from "./helpers.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | null): string => new TextDecoder().decode(data ?? new Uint8Array(0));
const OPEN = [{ perms: 31, id: { scheme: "world", id: "anyone" } }];
const create = (path: string, data = "", flags = 0): ZkRequest => ({ op: "create", path, data: bytes(data), acl: OPEN, flags });

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

async function start(seed: number, config: Parameters<typeof ensembleWithLeader>[0]["config"] = {}): Promise<SimEnsemble> {
  ensemble = await ensembleWithLeader({ seed, config });
  return ensemble;
}

async function connect(e: SimEnsemble, nodeId: string, options: ZkConnectOptions = {}): Promise<ZkSimClient> {
  const client = new ZkSimClient(e.clientStream(nodeId));
  client.connect(options);
  await e.runUntil(() => client.connectResponse !== undefined || client.closed, 10_000);
  return client;
}

async function call(e: SimEnsemble, client: ZkSimClient, request: ZkRequest): Promise<{ err: number; response: ZkResponse | null; zxid: bigint }> {
  const xid = client.send(request);
  const before = client.replies(xid).length;
  await e.runUntil(() => client.replies(xid).length > before || client.closed, 10_000);
  const reply = client.replies(xid)[before];
  if (reply === undefined) throw new Error(`no reply to ${request.op} (closed: ${client.closed})`);
  return { err: reply.header.err, response: reply.response, zxid: reply.header.zxid };
}

describe("ZooKeeper wire over the simulated stream", () => {
  it("connects, answers every op in ZooKeeper's shapes, and closes the session", async () => {
    const e = await start(101);
    const client = await connect(e, follower(e));
    const connected = client.connectResponse!;
    expect(connected.timeOut).toBeGreaterThan(0);
    expect(connected.sessionId).toBeGreaterThan(0n);
    expect(connected.passwd).toHaveLength(16);

    expect(await call(e, client, create("/a", "one"))).toMatchObject({ err: 0, response: { op: "create", path: "/a" } });
    const created2 = await call(e, client, { op: "create2", path: "/a/b", data: bytes("two"), acl: OPEN, flags: 3 });
    expect(created2.response).toMatchObject({ op: "create2", path: "/a/b0000000000" });
    const got = await call(e, client, { op: "getData", path: "/a", watch: false });
    expect(got.err).toBe(0);
    expect(got.response?.op === "getData" && text(got.response.data)).toBe("one");
    expect((await call(e, client, { op: "setData", path: "/a", data: bytes("uno"), version: 0 })).response).toMatchObject({ op: "setData", stat: { version: 1 } });
    expect((await call(e, client, { op: "setData", path: "/a", data: bytes("x"), version: 9 })).err).toBe(ErrorCode.BadVersion);
    expect((await call(e, client, { op: "exists", path: "/a", watch: false })).response).toMatchObject({ op: "exists" });
    // exists on a missing node: NoNode with no body, as ZooKeeper answers it.
    expect(await call(e, client, { op: "exists", path: "/none", watch: false })).toMatchObject({ err: ErrorCode.NoNode, response: null });
    expect((await call(e, client, { op: "getChildren", path: "/a", watch: false })).response).toEqual({ op: "getChildren", children: ["b0000000000"] });
    expect((await call(e, client, { op: "getChildren2", path: "/a", watch: false })).response).toMatchObject({ op: "getChildren2", children: ["b0000000000"], stat: { numChildren: 1 } });
    expect((await call(e, client, { op: "getAllChildrenNumber", path: "/a" })).response).toEqual({ op: "getAllChildrenNumber", totalNumber: 1 });
    expect((await call(e, client, { op: "getACL", path: "/a" })).response).toMatchObject({ op: "getACL", acl: OPEN });
    expect((await call(e, client, { op: "setACL", path: "/a", acl: OPEN, version: 0 })).response).toMatchObject({ op: "setACL", stat: { aversion: 1 } });
    expect((await call(e, client, { op: "sync", path: "/a" })).response).toEqual({ op: "sync", path: "/a" });
    expect((await call(e, client, { op: "createContainer", path: "/c", data: null, acl: OPEN, flags: 4 })).response).toMatchObject({ op: "createContainer", path: "/c" });
    expect((await call(e, client, { op: "createTTL", path: "/ttl", data: null, acl: OPEN, flags: 5, ttl: 60_000n })).response).toMatchObject({ op: "createTTL", path: "/ttl" });
    expect((await call(e, client, { op: "getEphemerals", prefixPath: "/" })).response).toEqual({ op: "getEphemerals", ephemerals: ["/a/b0000000000"] });
    const multi = await call(e, client, { op: "multi", ops: [create("/m1"), { op: "check", path: "/a", version: 1 }, { op: "setData", path: "/m1", data: bytes("z"), version: 0 }] });
    expect(multi.response).toMatchObject({ op: "multi", results: [{ op: "create", path: "/m1" }, { op: "check" }, { op: "setData" }] });
    const failed = await call(e, client, { op: "multi", ops: [create("/m2"), { op: "check", path: "/a", version: 42 }] });
    // As ZooKeeper's DataTree: ops before the failing one report 0, the failing one its code.
    expect(failed.response).toEqual({ op: "multi", results: [{ op: "error", err: 0 }, { op: "error", err: ErrorCode.BadVersion }] });
    const reads = await call(e, client, { op: "multiRead", ops: [{ op: "getData", path: "/m1", watch: false }, { op: "getChildren", path: "/a", watch: false }, { op: "getData", path: "/none", watch: false }] });
    expect(reads.response).toMatchObject({ op: "multiRead", results: [{ op: "getData" }, { op: "getChildren", children: ["b0000000000"] }, { op: "error", err: ErrorCode.NoNode }] });
    expect((await call(e, client, { op: "addWatch", path: "/a", mode: 1 })).response).toEqual({ op: "addWatch", err: 0 });
    expect(await call(e, client, { op: "removeWatches", path: "/a", type: 3 })).toMatchObject({ err: 0 });
    expect((await call(e, client, { op: "removeWatches", path: "/a", type: 3 })).err).toBe(ErrorCode.NoWatcher);
    expect((await call(e, client, { op: "whoAmI" })).response).toEqual({ op: "whoAmI", clientInfo: [] });
    expect((await call(e, client, { op: "delete", path: "/m1", version: -1 })).err).toBe(0);
    expect((await call(e, client, { op: "delete", path: "/a", version: -1 })).err).toBe(ErrorCode.NotEmpty);
    // What ZooKeeper refuses without running anything: a reply with its code, the connection stays.
    expect((await call(e, client, { op: "check", path: "/a", version: 0 })).err).toBe(ErrorCode.Unimplemented);
    expect((await call(e, client, { op: "create", path: "/bad", data: null, acl: OPEN, flags: 77 })).err).toBe(ErrorCode.BadArguments);
    expect((await call(e, client, { op: "reconfig", joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1n })).err).toBe(ErrorCode.ReconfigDisabled);

    // closeSession: the reply, then the close; the session's ephemerals are gone for everyone.
    const closeXid = client.send({ op: "closeSession" });
    await e.runUntil(() => client.closed, 10_000);
    expect(client.reply(closeXid)?.header.err).toBe(0);
    const other = await connect(e, e.leader()!.id);
    expect(await call(e, other, { op: "exists", path: "/a/b0000000000", watch: false })).toMatchObject({ err: ErrorCode.NoNode });
  });

  it("delivers a watch event before the reply that reflects its change, and pings", async () => {
    const e = await start(102);
    const watcher = await connect(e, follower(e, 0));
    const writer = await connect(e, follower(e, 1));
    await call(e, writer, create("/w", "v0"));
    await call(e, watcher, { op: "getData", path: "/w", watch: true });
    await call(e, writer, { op: "setData", path: "/w", data: bytes("v1"), version: -1 });
    // A read by the watcher that sees v1 comes after the notification.
    const xid = watcher.send({ op: "sync", path: "/w" });
    await e.runUntil(() => watcher.reply(xid) !== undefined, 10_000);
    const readXid = watcher.send({ op: "getData", path: "/w", watch: false });
    await e.runUntil(() => watcher.reply(readXid) !== undefined, 10_000);
    const notification = watcher.notifications()[0];
    expect(notification?.event).toEqual({ type: EventType.NodeDataChanged, state: 3, path: "/w" });
    const eventAt = watcher.indexOf((item) => item.kind === "notification");
    const readAt = watcher.indexOf((item) => item.kind === "reply" && item.header.xid === readXid);
    expect(eventAt).toBeLessThan(readAt);
    // One-shot: a second change fires nothing.
    await call(e, writer, { op: "setData", path: "/w", data: bytes("v2"), version: -1 });
    await e.runFor(200);
    expect(watcher.notifications()).toHaveLength(1);
    watcher.ping();
    await e.runUntil(() => watcher.replies(ZkXid.ping).length > 0, 5_000);
    expect(watcher.replies(ZkXid.ping)[0]?.header.err).toBe(0);
  });

  it("resumes a session on another node: SetWatches (several packets, additive) replays what it missed since lastZxidSeen", async () => {
    const e = await start(103);
    const [first, second] = [follower(e, 0), follower(e, 1)];
    const client = await connect(e, first);
    const { sessionId, passwd } = client.connectResponse!;
    await call(e, client, create("/s", "0"));
    await call(e, client, create("/s/x", "0"));
    await call(e, client, { op: "getData", path: "/s", watch: true });
    const seen = client.lastZxid;
    client.stream.disconnect();
    const writer = await connect(e, e.leader()!.id);
    await call(e, writer, { op: "setData", path: "/s", data: bytes("1"), version: -1 });
    await call(e, writer, create("/s/y"));

    const moved = await connect(e, second, { sessionId, passwd: passwd!, lastZxidSeen: seen });
    expect(moved.connectResponse?.sessionId).toBe(sessionId);
    expect(moved.connectResponse?.timeOut).toBeGreaterThan(0);
    // Two packets, as the Java client splits a large set: the union counts, each missed event arrives once.
    const one = moved.send({ op: "setWatches", relativeZxid: seen, dataWatches: ["/s"], existWatches: [], childWatches: [] });
    await e.runUntil(() => moved.replies(one).length === 1, 10_000);
    const two = moved.send({ op: "setWatches2", relativeZxid: seen, dataWatches: ["/s"], existWatches: ["/s/z"], childWatches: ["/s"], persistentWatches: [], persistentRecursiveWatches: [] });
    await e.runUntil(() => moved.replies(two).length === 2, 10_000);
    expect(moved.replies(ZkXid.setWatches).map((reply) => reply.header.err)).toEqual([0, 0]);
    const events = moved.notifications().map((n) => [n.event.type, n.event.path]);
    expect(events).toEqual([
      [EventType.NodeDataChanged, "/s"],
      [EventType.NodeChildrenChanged, "/s"],
    ]);
    // The registered exists watch on /s/z is live after the move.
    await call(e, writer, create("/s/z"));
    await e.runUntil(() => moved.notifications().length === 3, 10_000);
    expect(moved.notifications()[2]?.event).toMatchObject({ type: EventType.NodeCreated, path: "/s/z" });
  });

  it("authenticates with auth packets (xid -4) and enforces digest ACLs", async () => {
    const e = await start(104);
    const alice = await connect(e, follower(e));
    const auth = alice.send({ op: "auth", type: 0, scheme: "digest", auth: bytes("alice:secret") });
    await e.runUntil(() => alice.reply(auth) !== undefined, 10_000);
    expect(alice.reply(auth)?.header.err).toBe(0);
    expect((await call(e, alice, { op: "whoAmI" })).response).toMatchObject({ op: "whoAmI", clientInfo: [{ authScheme: "digest" }] });
    await call(e, alice, { op: "create", path: "/p", data: bytes("mine"), acl: [{ perms: 31, id: { scheme: "auth", id: "" } }], flags: 0 });
    expect((await call(e, alice, { op: "getData", path: "/p", watch: false })).err).toBe(0);
    const eve = await connect(e, e.leader()!.id);
    expect((await call(e, eve, { op: "getData", path: "/p", watch: false })).err).toBe(ErrorCode.NoAuth);
    // SASL is not supported: AuthFailed, then the connection closes.
    const saslXid = eve.send({ op: "sasl", token: null });
    await e.runUntil(() => eve.closed, 10_000);
    expect(eve.reply(saslXid)?.header.err).toBe(ErrorCode.AuthFailed);
  });

  it("an auth packet with an unknown scheme (or bad digest credentials) gets AuthFailed and the connection closes, as ZooKeeper does", async () => {
    const e = await start(113);
    for (const [scheme, credentials] of [["kerberos-ish", "alice"], ["digest", "no-colon"]] as const) {
      const client = await connect(e, follower(e));
      const xid = client.send({ op: "auth", type: 0, scheme, auth: bytes(credentials) });
      await e.runUntil(() => client.closed, 10_000);
      expect(client.reply(xid)?.header.err).toBe(ErrorCode.AuthFailed);
      expect(client.closed).toBe(true);
    }
    // The node still serves others.
    const other = await connect(e, follower(e));
    expect((await call(e, other, { op: "exists", path: "/", watch: false })).err).toBe(0);
  });

  it("does not tell a watcher about nodes it may not READ, not even a persistent-recursive one (CVE-2024-23944)", async () => {
    const e = await start(114);
    const alice = await connect(e, follower(e));
    const auth = alice.send({ op: "auth", type: 0, scheme: "digest", auth: bytes("alice:secret") });
    await e.runUntil(() => alice.reply(auth) !== undefined, 10_000);
    const aliceOnly = [{ perms: 31, id: { scheme: "auth", id: "" } }];
    await call(e, alice, { op: "create", path: "/open", data: bytes(""), acl: [{ perms: 31, id: { scheme: "world", id: "anyone" } }], flags: 0 });
    await call(e, alice, { op: "create", path: "/private", data: bytes(""), acl: aliceOnly, flags: 0 });
    const eve = await connect(e, follower(e, 1));
    expect((await call(e, eve, { op: "addWatch", path: "/", mode: 1 })).err).toBe(0); // persistent recursive
    // Protected: a child created under a protected node, its data changed, then deleted; the protected node changed.
    await call(e, alice, { op: "create", path: "/private/plan", data: bytes("x"), acl: aliceOnly, flags: 0 });
    await call(e, alice, { op: "setData", path: "/private/plan", data: bytes("y"), version: -1 });
    await call(e, alice, { op: "delete", path: "/private/plan", version: -1 });
    await call(e, alice, { op: "setData", path: "/private", data: bytes("z"), version: -1 });
    // Open: a child of an open node is seen.
    await call(e, alice, { op: "create", path: "/open/visible", data: bytes(""), acl: [{ perms: 31, id: { scheme: "world", id: "anyone" } }], flags: 0 });
    await e.runUntil(() => eve.notifications().some((n) => n.event.path === "/open/visible"), 10_000);
    expect(eve.notifications().map((n) => n.event.path)).toEqual(["/open/visible"]);
    // Alice, who may read, sees her own changes through the same kind of watch.
    const watcher = await connect(e, follower(e, 1));
    const again = watcher.send({ op: "auth", type: 0, scheme: "digest", auth: bytes("alice:secret") });
    await e.runUntil(() => watcher.reply(again) !== undefined, 10_000);
    expect((await call(e, watcher, { op: "addWatch", path: "/private", mode: 1 })).err).toBe(0);
    await call(e, alice, { op: "setData", path: "/private", data: bytes("w"), version: -1 });
    await e.runUntil(() => watcher.notifications().length > 0, 10_000);
    expect(watcher.notifications()[0]?.event).toMatchObject({ type: EventType.NodeDataChanged, path: "/private" });
  });

  it("refuses a wrong password or an unknown session with timeOut 0, then closes", async () => {
    const e = await start(105);
    const client = await connect(e, follower(e));
    const { sessionId } = client.connectResponse!;
    const wrong = await connect(e, follower(e, 1), { sessionId, passwd: new Uint8Array(16).fill(1) });
    await e.runUntil(() => wrong.closed, 5_000);
    expect(wrong.connectResponse).toMatchObject({ timeOut: 0, sessionId: 0n });
    expect(wrong.closed).toBe(true);
    expect(wrong.stream.node?.connection.closeReason).toEqual({ code: "ConnectRefused", zkCode: ErrorCode.AuthFailed, answered: true });
    const unknown = await connect(e, follower(e, 1), { sessionId: 12345n, passwd: new Uint8Array(16) });
    await e.runUntil(() => unknown.closed, 5_000);
    expect(unknown.connectResponse?.timeOut).toBe(0);
    // The real owner is unaffected.
    expect((await call(e, client, create("/still-here"))).err).toBe(0);
  });

  it("closes only the connection that sent a malformed packet; an unknown opcode is answered Unimplemented", async () => {
    const e = await start(106);
    const node = follower(e);
    const good = await connect(e, node);
    const bad = await connect(e, node);
    // An unknown opcode (999): Unimplemented, and the connection stays.
    const header = new Uint8Array(12);
    new DataView(header.buffer).setInt32(0, 8);
    new DataView(header.buffer).setInt32(4, 77);
    new DataView(header.buffer).setInt32(8, 999);
    bad.stream.write(header);
    await e.runUntil(() => bad.reply(77) !== undefined, 5_000);
    expect(bad.reply(77)?.header.err).toBe(ErrorCode.Unimplemented);
    expect(bad.closed).toBe(false);
    // A getData whose path length runs past the packet: malformed, closed.
    const garbage = new Uint8Array(16);
    const view = new DataView(garbage.buffer);
    view.setInt32(0, 12);
    view.setInt32(4, 78);
    view.setInt32(8, 4); // getData
    view.setInt32(12, 1000); // path length beyond the packet
    bad.stream.write(garbage);
    await e.runUntil(() => bad.closed, 5_000);
    expect(bad.stream.node?.connection.closeReason?.code).toBe("Malformed");
    expect((await call(e, good, create("/fine"))).err).toBe(0);
    expect(e.node(node)!.status().counters.clientStreamsClosed["Malformed"]).toBe(1);
  });

  it("bounds outstanding requests per connection: one too many closes it (OutstandingLimit)", async () => {
    const e = await start(107, { clientMaxOutstandingPerConnection: 4 });
    const client = await connect(e, follower(e));
    // Pipelined in one chunk: the adapter sees them all at once.
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < 6; i++) chunks.push(client.encode(100 + i, create(`/q${i}`)));
    client.stream.write(Buffer.concat(chunks));
    await e.runUntil(() => client.closed, 5_000);
    expect(client.stream.node?.connection.closeReason).toEqual({ code: "OutstandingLimit", limit: 4 });
  });

  it("bounds the bytes a client leaves unread (OutputBudget)", async () => {
    const e = await start(108, { clientMaxBufferedOutputBytes: 8_192 });
    const client = await connect(e, follower(e));
    await call(e, client, create("/big", "x".repeat(6_000)));
    client.stream.pauseReading();
    for (let i = 0; i < 3; i++) client.send({ op: "getData", path: "/big", watch: false });
    await e.runUntil(() => client.stream.node?.connection.closed === true, 5_000);
    expect(client.stream.node?.connection.closeReason).toEqual({ code: "OutputBudget", limit: 8_192 });
  });

  it("closes a stream that never connects, and one that goes silent, on the simulated clock", async () => {
    const e = await start(109, { clientConnectTimeoutMs: 3_000 });
    const silentFromStart = new ZkSimClient(e.clientStream(follower(e)));
    const startedAt = e.sim.now();
    await e.runUntil(() => silentFromStart.closed, 10_000);
    expect(e.sim.now() - startedAt).toBeGreaterThanOrEqual(3_000);
    expect(silentFromStart.stream.node?.connection.closeReason).toEqual({ code: "NodeClosed", reason: "no connect within 3000 ms" });

    const idle = await connect(e, follower(e), { timeOutMs: 4_000 });
    const timeOut = idle.connectResponse!.timeOut;
    const connectedAt = e.sim.now();
    await e.runUntil(() => idle.closed, 3 * timeOut);
    expect(e.sim.now() - connectedAt).toBeGreaterThanOrEqual(timeOut - 10);
    expect(idle.stream.node?.connection.closeReason).toEqual({ code: "NodeClosed", reason: `idle for ${timeOut} ms` });
  });

  it("answers ruok and refuses other four-letter words, then closes", async () => {
    const e = await start(110);
    const stream = e.clientStream(follower(e));
    let answer = "";
    stream.onData((data) => (answer += new TextDecoder().decode(data)));
    stream.write(bytes("ruok"));
    await e.runUntil(() => !stream.isOpen, 5_000);
    expect(answer).toBe("imok");
  });

  it("answers envi with a ZooKeeper version a client can parse (kazoo's server_version), and refuses words off the whitelist", async () => {
    const e = await start(112);
    const ask = async (word: string): Promise<string> => {
      const stream = e.clientStream(follower(e));
      let answer = "";
      stream.onData((data) => (answer += new TextDecoder().decode(data)));
      stream.write(bytes(word));
      await e.runUntil(() => !stream.isOpen, 5_000);
      return answer;
    };
    const envi = await ask("envi");
    // kazoo: line.split("=", 1), key "zookeeper.version", value matched by ^(\d+\.\d+\.\d+)
    const version = /^zookeeper\.version=(\d+)\.(\d+)\.(\d+)/m.exec(envi);
    expect(version?.slice(1).map(Number)).toEqual([3, 8, 0]);
    expect(await ask("isro")).toBe("rw");
    expect(await ask("dump")).toMatch(/not in the whitelist/);
  });

  it("a write in flight from the old connection of a moved session answers SessionMoved and never collides with the new owner's writes", async () => {
    const e = await start(111);
    const leaderId = e.leader()!.id;
    const [oldNode, newNode] = [follower(e, 0), follower(e, 1)];
    const old = await connect(e, oldNode);
    const { sessionId, passwd } = old.connectResponse!;
    await call(e, old, create("/owner"));
    const seen = old.lastZxid;
    // The old node is cut off: its client's next write stays in flight there.
    e.partition([[oldNode], [leaderId, newNode]]);
    const stuck = old.send(create("/owner/from-old", "old"));
    await e.runFor(300);
    expect(old.reply(stuck)).toBeUndefined();

    // The client moves to another node with its id, password and last zxid: the claim is applied there.
    const moved = await connect(e, newNode, { sessionId, passwd: passwd!, lastZxidSeen: seen });
    expect(moved.connectResponse?.sessionId).toBe(sessionId);
    const mine = await call(e, moved, create("/owner/from-new", "new"));
    expect(mine.response).toEqual({ op: "create", path: "/owner/from-new" });
    const mine2 = await call(e, moved, { op: "setData", path: "/owner/from-new", data: bytes("new2"), version: 0 });
    expect(mine2.err).toBe(0);

    // The old node rejoins and re-sends the stuck write: SessionMoved, nothing applied, the old connection closed.
    e.heal();
    await e.runUntil(() => old.closed, 15_000);
    expect(old.stream.node?.connection.closeReason).toEqual({ code: "SessionMoved" });
    expect(await call(e, moved, { op: "exists", path: "/owner/from-old", watch: false })).toMatchObject({ err: ErrorCode.NoNode });
    const data = await call(e, moved, { op: "getData", path: "/owner/from-new", watch: false });
    expect(data.response?.op === "getData" && text(data.response.data)).toBe("new2");
    // The new owner keeps writing; every node agrees.
    expect((await call(e, moved, create("/owner/later"))).err).toBe(0);
    expect(await e.converge()).toBe(true);
  });
});
