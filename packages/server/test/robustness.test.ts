import { describe, expect, it } from "vitest";
import { encodeActorFrame, encodeChannelWireFrame } from "@corral/actors";
import { ErrorCode } from "@corral/protocol";
import { awaitResponse, bytes, connectedClient, create, ensembleWithLeader, follower, getData, text } from "./helpers.js";

describe("bad input", () => {
  it("drops malformed frames and answers bad requests with typed errors, changing nothing", async () => {
    const ensemble = await ensembleWithLeader({ seed: 81 });
    const target = follower(ensemble);
    const client = await connectedClient(ensemble, "fuzzer", target);
    const before = ensemble.node(target)!.status();

    client.sendRaw(target, bytes("not json at all"));
    client.sendRaw(target, new Uint8Array([0xff, 0xfe, 0x00, 0x01]));
    client.sendRaw(target, encodeChannelWireFrame({ t: "d", i: "x", s: "one" }, { clusterTag: "corral" }) as Uint8Array);
    client.sendRaw(target, encodeChannelWireFrame({ t: "d", i: "c-zz", s: 1, a: 0, b: { type: "request", xid: 1, op: { type: "create" } } }, { clusterTag: "corral" }) as Uint8Array);
    // Pretends to be a peer's raft actor: unsealed actor frames are refused before any body is decoded.
    client.sendRaw(target, encodeActorFrame("raft", { node: "n1", actor: "raft" }, { type: "raft", message: { nonsense: true } }, { clusterTag: "corral" }) as Uint8Array);
    client.sendRaw(target, encodeActorFrame("raft", { node: client.clientId, actor: "raft" }, { type: "propose", commands: [{ kind: "txn", txn: { type: "bogus" } }] }, { clusterTag: "corral" }) as Uint8Array);
    client.sendRaw(target, encodeActorFrame("tracker", { node: client.clientId, actor: "x" }, { type: "touch", sessionIds: [-1] }, { clusterTag: "corral" }) as Uint8Array);

    const badRead = await awaitResponse(ensemble, client, client.send(getData("no-slash")));
    expect(badRead.result).toMatchObject({ type: "error", code: ErrorCode.BadArguments });
    const badWrite = await awaitResponse(ensemble, client, client.send(create("/trailing/")));
    expect(badWrite.result).toMatchObject({ type: "error", code: ErrorCode.BadArguments });
    const noParent = await awaitResponse(ensemble, client, client.send(create("/missing/child")));
    expect(noParent.result).toMatchObject({ type: "error", code: ErrorCode.NoNode });

    // Still serving, and every replica agrees.
    const ok = await awaitResponse(ensemble, client, client.send(create("/fine", "yes")));
    expect(ok.result.type).toBe("create");
    const read = await awaitResponse(ensemble, client, client.send(getData("/fine")));
    expect(read.result.type === "getData" && text(read.result.data)).toBe("yes");
    expect(await ensemble.converge()).toBe(true);
    expect(new Set(Object.values(ensemble.digests()).map((d) => d.digest)).size).toBe(1);
    const after = ensemble.node(target)!.status();
    expect(after.role).not.toBe("stopped");
    expect(after.counters.malformedMessages).toBeGreaterThan(before.counters.malformedMessages);
    expect(after.actors.framesMalformed).toBeGreaterThanOrEqual(before.actors.framesMalformed + 2);
    expect(after.actors.framesUnauthenticated).toBe(before.actors.framesUnauthenticated + 3);
    await ensemble.close();
  });

  it("refuses a request before connect and a second connect on one connection", async () => {
    const ensemble = await ensembleWithLeader({ seed: 82 });
    const client = await connectedClient(ensemble, "twice", follower(ensemble));
    client.sendBody({ type: "connect", protocolVersion: 1, sessionId: null, secret: null, timeoutMs: 5000, lastZxidSeen: 0, watches: { data: [], exists: [], child: [], persistent: [], persistentRecursive: [] }, auth: [] });
    expect(await ensemble.runUntil(() => client.received.some((m) => m.type === "connectFailed"))).toBe(true);
    expect(client.received.find((m) => m.type === "connectFailed")).toMatchObject({ code: ErrorCode.BadArguments });
    await ensemble.close();
  });

  it("bounds outstanding reads per session with TooManyRequests, in xid order", async () => {
    const ensemble = await ensembleWithLeader({ seed: 83, config: { maxOutstandingPerSession: 4 } });
    const client = await connectedClient(ensemble, "greedy", follower(ensemble));
    await awaitResponse(ensemble, client, client.send(create("/b", "")));
    // A write keeps the queue busy so the reads behind it stay outstanding.
    const xids = [client.send(create("/b/w", ""))];
    for (let i = 0; i < 8; i++) xids.push(client.send(getData("/b")));
    await awaitResponse(ensemble, client, xids[xids.length - 1]!);
    const responses = client.received.filter((m) => m.type === "response").slice(-xids.length);
    expect(responses.map((r) => (r.type === "response" ? r.xid : 0))).toEqual(xids);
    const limited = responses.filter((r) => r.type === "response" && r.result.type === "error" && r.result.code === 1001);
    expect(limited.length).toBeGreaterThan(0);
    await ensemble.close();
  });
});

describe("durability and recovery", () => {
  it("a crashed follower restarts from its log and snapshot, catches up, and agrees on the digest", async () => {
    const ensemble = await ensembleWithLeader({ seed: 91, config: { snapshotEveryEntries: 20 } });
    const victim = follower(ensemble, 0);
    const client = await connectedClient(ensemble, "durable", follower(ensemble, 1));
    for (let i = 0; i < 30; i++) await awaitResponse(ensemble, client, client.send(create(`/d${i}`, String(i))));
    await ensemble.crash(victim);
    for (let i = 30; i < 60; i++) await awaitResponse(ensemble, client, client.send(create(`/d${i}`, String(i))));
    await ensemble.restart(victim);
    expect(await ensemble.converge(20_000)).toBe(true);
    const statuses = ensemble.status();
    expect(statuses).toHaveLength(3);
    expect(new Set(statuses.map((s) => s.digest)).size).toBe(1);
    expect(statuses.every((s) => s.counters.snapshotsTaken >= 0)).toBe(true);
    expect(ensemble.status().reduce((sum, s) => sum + s.counters.snapshotsTaken, 0)).toBeGreaterThan(0);
    await ensemble.close();
  });
});

describe("ACLs", () => {
  it("refuses unauthorized reads and writes with NoAuth and changes nothing", async () => {
    const ensemble = await ensembleWithLeader({ seed: 84 });
    const owner = await connectedClient(ensemble, "owner", follower(ensemble, 0));
    const stranger = await connectedClient(ensemble, "stranger", follower(ensemble, 1));
    const auth = await awaitResponse(ensemble, owner, owner.send({ type: "addAuth", scheme: "digest", credentials: "alice:secret" }));
    expect(auth.result).toEqual({ type: "addAuth" });
    const created = await awaitResponse(ensemble, owner, owner.send({ type: "create", path: "/private", data: bytes("mine"), acl: [{ perms: 31, id: { scheme: "auth", id: "" } }], mode: 0 }));
    expect(created.result.type).toBe("create");
    const read = await awaitResponse(ensemble, stranger, stranger.send(getData("/private")));
    expect(read.result).toMatchObject({ type: "error", code: ErrorCode.NoAuth });
    const write = await awaitResponse(ensemble, stranger, stranger.send({ type: "setData", path: "/private", data: bytes("theirs"), version: -1 }));
    expect(write.result).toMatchObject({ type: "error", code: ErrorCode.NoAuth });
    const mine = await awaitResponse(ensemble, owner, owner.send(getData("/private")));
    expect(mine.result.type === "getData" && text(mine.result.data)).toBe("mine");
    const badScheme = await awaitResponse(ensemble, stranger, stranger.send({ type: "addAuth", scheme: "ip", credentials: "1.2.3.4" }));
    expect(badScheme.result).toMatchObject({ type: "error", code: ErrorCode.AuthFailed });
    await ensemble.close();
  });
});
