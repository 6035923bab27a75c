import { EventType, OperationTimeoutError, SessionExpiredError, TooManyRequestsError, CreateMode, ConnectionLossError } from "@corral/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { ClientClosed, CorralClient, type StateChange, type WatchedEvent } from "../src/index.js";
import { ensembleWithLeader, failure, newClient, run } from "./helpers.js";

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

/** Cut the client off from every node (both directions). */
function isolate(e: SimEnsemble, client: CorralClient): void {
  e.partition([[client.clientId], [...e.nodeIds]]);
}

describe("connection lifecycle", () => {
  it("connecting -> connected -> disconnected -> connected on another node -> closed", async () => {
    ensemble = await ensembleWithLeader({ seed: 21 });
    const e = ensemble;
    const pending = CorralClient.connectWith(e.clientEnv("a"), { nodes: e.nodeIds, sessionTimeoutMs: 6_000 });
    const client = await run(e, pending);
    const seen: StateChange[] = [];
    client.on("state", (change) => seen.push(change));
    const stream = client.states();
    const first = client.nodeId!;
    const sessionId = client.sessionId;
    await run(e, client.create("/x", "1"));
    await e.crash(first);
    expect(await e.runUntil(() => client.state === "connected" && client.nodeId !== first, 30_000)).toBe(true);
    expect(client.nodeId).not.toBe(first);
    expect(client.sessionId).toBe(sessionId);
    expect(seen.map((s) => s.state)).toEqual(["disconnected", "connected"]);
    expect(seen[1]).toMatchObject({ state: "connected", nodeId: client.nodeId, sessionId });
    await run(e, client.setData("/x", "2"));
    await run(e, client.close());
    expect(seen.map((s) => s.state)).toEqual(["disconnected", "connected", "closed"]);
    const streamed: string[] = [];
    for await (const change of stream) streamed.push(change.state);
    expect(streamed).toEqual(["disconnected", "connected", "closed"]);
    const after = await failure(e, client.getData("/x"));
    expect(after).toBeInstanceOf(SessionExpiredError);
    expect((after as SessionExpiredError).cause).toBeInstanceOf(ClientClosed);
  });

  it("close deletes the session's ephemerals", async () => {
    ensemble = await ensembleWithLeader({ seed: 22 });
    const e = ensemble;
    const a = await newClient(e, "a");
    const b = await newClient(e, "b");
    await run(e, a.create("/eph", "", { mode: CreateMode.Ephemeral }));
    expect(await run(e, b.exists("/eph"))).not.toBeNull();
    await run(e, a.close());
    expect(a.state).toBe("closed");
    await run(e, b.sync("/"));
    expect(await run(e, b.exists("/eph"))).toBeNull();
    await run(e, b.close());
  });

  it("an expired session fails every pending and future call with SessionExpired and says so", async () => {
    ensemble = await ensembleWithLeader({ seed: 23 });
    const e = ensemble;
    const client = await newClient(e, "a", { sessionTimeoutMs: 3_000, requestTimeoutMs: 120_000 });
    const other = await newClient(e, "b");
    await run(e, client.create("/eph", "", { mode: CreateMode.Ephemeral }));
    const states: string[] = [];
    client.on("state", (change) => states.push(change.state));
    isolate(e, client);
    const pendingRead = client.getData("/eph");
    // Long enough for the leader to expire the session.
    await e.runFor(10_000);
    expect(await run(e, other.exists("/eph"))).toBeNull();
    e.heal();
    const error = await failure(e, pendingRead, 30_000);
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect((error as SessionExpiredError).path).toBe("/eph");
    expect(client.state).toBe("expired");
    expect(states).toEqual(["disconnected", "expired"]);
    expect(await failure(e, client.exists("/"))).toBeInstanceOf(SessionExpiredError);
    await run(e, client.close());
    expect(client.state).toBe("closed");
    await run(e, other.close());
  });

  it("a full outstanding queue refuses the next call with TooManyRequests; nothing is sent", async () => {
    ensemble = await ensembleWithLeader({ seed: 24 });
    const e = ensemble;
    const client = await newClient(e, "a", { maxOutstandingRequests: 2 });
    const one = client.create("/one");
    const two = client.create("/two");
    const three = client.create("/three");
    expect(await failure(e, three)).toBeInstanceOf(TooManyRequestsError);
    await run(e, one);
    await run(e, two);
    expect(await run(e, client.exists("/three"))).toBeNull();
    await run(e, client.close());
  });

  it("a call not answered in time fails with OperationTimeout; a timed-out write is still delivered later", async () => {
    ensemble = await ensembleWithLeader({ seed: 25 });
    const e = ensemble;
    const client = await newClient(e, "a", { requestTimeoutMs: 1_000, sessionTimeoutMs: 6_000 });
    isolate(e, client);
    const read = client.getData("/");
    const write = client.create("/late");
    const readError = await failure(e, read);
    expect(readError).toBeInstanceOf(OperationTimeoutError);
    expect((readError as OperationTimeoutError).path).toBe("/");
    expect(await failure(e, write)).toBeInstanceOf(OperationTimeoutError);
    e.heal();
    expect(await e.runUntil(() => client.state === "connected", 30_000)).toBe(true);
    // The next write is ordered after the timed-out one, which therefore applied first (exactly once).
    await run(e, client.create("/after"));
    expect(await run(e, client.exists("/late"))).not.toBeNull();
    await run(e, client.close());
  });

  it("connect fails with ConnectionLoss when no node answers within connectTimeoutMs", async () => {
    ensemble = await ensembleWithLeader({ seed: 26 });
    const e = ensemble;
    const error = await failure(e, CorralClient.connectWith(e.clientEnv("lost"), { nodes: ["n9"], connectTimeoutMs: 2_000 }));
    expect(error).toBeInstanceOf(ConnectionLossError);
  });
});

describe("failover", () => {
  it("a write whose response was lost is re-sent to another node and applied exactly once", async () => {
    ensemble = await ensembleWithLeader({ seed: 31 });
    const e = ensemble;
    const client = await newClient(e, "a");
    await run(e, client.create("/seq"));
    const node = client.nodeId!;
    // The node gets the write and applies it; its answer never reaches the client.
    e.fault({ kind: "block", from: node, to: client.clientId });
    const write = client.create("/seq/n-", "once", { mode: CreateMode.PersistentSequential });
    const counter = client.setData("/seq", "v");
    const created = await run(e, write, 60_000);
    expect(client.nodeId).not.toBe(node);
    expect(created.path).toBe("/seq/n-0000000000");
    expect((await run(e, counter)).version).toBe(1);
    expect((await run(e, client.getChildren("/seq"))).children).toEqual(["n-0000000000"]);
    expect(client.stats().requestsResent).toBeGreaterThanOrEqual(2);
    e.heal();
    await run(e, client.close());
  });

  it("watches are re-registered after failover; a missed event is delivered once, never duplicated", async () => {
    ensemble = await ensembleWithLeader({ seed: 32 });
    const e = ensemble;
    const client = await newClient(e, "watcher");
    const writer = await newClient(e, "writer");
    await run(e, writer.create("/w", "0"));
    const oneShot: WatchedEvent[] = [];
    const persistent: WatchedEvent[] = [];
    await run(e, client.getData("/w", { watch: (event) => oneShot.push(event) }));
    await run(e, client.addWatch("/w", 1, (event) => persistent.push(event)));
    const stream = await run(e, client.watchStream("/w", 0));
    const node = client.nodeId!;
    e.fault({ kind: "block", from: node, to: client.clientId });
    await run(e, writer.setData("/w", "1"));
    expect(await e.runUntil(() => client.state === "connected" && client.nodeId !== node, 30_000)).toBe(true);
    e.heal();
    expect(await e.runUntil(() => oneShot.length > 0 && persistent.length > 0, 10_000)).toBe(true);
    await run(e, writer.setData("/w", "2"));
    expect(await e.runUntil(() => persistent.length >= 2, 10_000)).toBe(true);
    await e.runFor(2_000);
    expect(oneShot.map((event) => event.type)).toEqual([EventType.NodeDataChanged]);
    expect(persistent.map((event) => event.type)).toEqual([EventType.NodeDataChanged, EventType.NodeDataChanged]);
    expect(persistent[0]!.zxid).toBeLessThan(persistent[1]!.zxid);
    const streamed: WatchedEvent[] = [];
    const iterator = stream[Symbol.asyncIterator]();
    streamed.push((await iterator.next()).value as WatchedEvent, (await iterator.next()).value as WatchedEvent);
    expect(streamed.map((event) => event.zxid)).toEqual(persistent.map((event) => event.zxid));
    stream.close();
    await run(e, client.close());
    await run(e, writer.close());
  });
});
