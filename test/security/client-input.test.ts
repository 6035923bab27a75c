/**
 * Hostile client input (issue 13): an ordinary client, or one that speaks the
 * session protocol by hand and skips the library's own checks, tries
 * over-long and too many auth ids, over-limit data and paths, and guessed
 * session secrets. A real 3-node ensemble on the simulated network (one
 * seed). After every attempt: the attacker got a typed error (or nothing,
 * for a message the codec cannot even read), nothing was proposed, the
 * ensemble's state is unchanged, no node stopped, the attempt was counted in
 * node status, and a later write works with every replica agreeing.
 *
 * The first case is the exact crash: addAuth with a 1,000-character
 * user name, then create. Before the fix the leader proposed an entry whose
 * auth id no replica could decode; every node exited, and again on replay.
 */
import { describe, expect, it } from "vitest";
import { CorralClient } from "@corral/client";
import { CorralCode, CreateMode, ErrorCode, LimitExceededError, OPEN_ACL_UNSAFE, type ClientOp, type NodeMessage } from "@corral/protocol";
import type { NodeStatus } from "@corral/server";

type NodeCounters = NodeStatus["counters"];
import { createSimEnsemble, type SimEnsemble } from "../support/sim-ensemble.js";
import { settle } from "../support/settle.js";
import { RawSession } from "./raw-session.js";


async function refusal(ensemble: SimEnsemble, promise: Promise<unknown>): Promise<unknown> {
  try {
    await settle(ensemble, promise);
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal");
}

type Counted = Pick<NodeCounters, "authRefused" | "writesRefused" | "attachesFailed" | "attachesRateLimited" | "malformedMessages" | "entriesRefused" | "proposals">;

function counted(statuses: readonly NodeStatus[]): Counted {
  const sum = (key: keyof Counted): number => statuses.reduce((n, s) => n + s.counters[key], 0);
  return {
    authRefused: sum("authRefused"),
    writesRefused: sum("writesRefused"),
    attachesFailed: sum("attachesFailed"),
    attachesRateLimited: sum("attachesRateLimited"),
    malformedMessages: sum("malformedMessages"),
    entriesRefused: sum("entriesRefused"),
    proposals: sum("proposals"),
  };
}

function moved(before: Counted, after: Counted): Partial<Counted> {
  const out: Partial<Counted> = {};
  for (const key of Object.keys(before) as (keyof Counted)[]) if (after[key] !== before[key]) out[key] = after[key] - before[key];
  return out;
}

/** What must not change: roles, terms, leader, the log and the tree, the sessions. */
const state = (statuses: readonly NodeStatus[]): unknown =>
  statuses.map((s) => ({ id: s.id, role: s.role, term: s.term, leader: s.leader, commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, lastIndex: s.lastIndex, digest: s.digest, sessions: s.sessions }));

/** Every node alive, and a write through each node is applied everywhere with the same digest. */
async function stillServing(ensemble: SimEnsemble, label: string): Promise<void> {
  expect(ensemble.status().map((s) => s.role === "stopped")).toEqual([false, false, false]);
  for (const id of ensemble.nodeIds) expect(ensemble.node(id), id).toBeDefined();
  for (const id of ensemble.nodeIds) {
    const writer = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv(`${label}-${id}`), { nodes: [id], sessionTimeoutMs: 6_000 }, { clientId: `c-${label}-${id}` }));
    await settle(ensemble, writer.create(`/${label}-${id}`, "ok"));
    await settle(ensemble, writer.close());
  }
  expect(await ensemble.converge()).toBe(true);
  expect(new Set(ensemble.status().map((s) => s.digest)).size).toBe(1);
}

/** A raw session: the session protocol by hand, none of the client library's checks. */
async function rawSession(ensemble: SimEnsemble, name: string, nodeId: string): Promise<RawSession> {
  const driver = new RawSession(`c-${name}`, ensemble.clientEnv(name));
  await driver.open();
  driver.connect(nodeId);
  if (!(await ensemble.runUntil(() => driver.connected, 10_000))) throw new Error(`${name} did not connect`);
  return driver;
}

async function answer(ensemble: SimEnsemble, driver: RawSession, xid: number): Promise<Extract<NodeMessage, { type: "response" }>> {
  await ensemble.runUntil(() => driver.response(xid) !== undefined, 5_000);
  const response = driver.response(xid);
  if (response === undefined) throw new Error(`no response for xid ${xid}`);
  return response;
}

const errorCode = (response: Extract<NodeMessage, { type: "response" }>): number | undefined => (response.result.type === "error" ? response.result.code : undefined);

describe("hostile client input (simulated ensemble)", () => {
  it("the issue's crash: addAuth with a 1,000-character user, then create: a typed error, nothing proposed, no node stops", async () => {
    const ensemble = await createSimEnsemble({ seed: 1331 });
    const leader = (await ensemble.waitForLeader()).id;
    const client = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("victim"), { nodes: [leader], sessionTimeoutMs: 6_000 }, { clientId: "c-victim" }));
    await settle(ensemble, client.create("/before", "x"));
    expect(await ensemble.converge()).toBe(true);
    const before = counted(ensemble.status());
    const stateBefore = state(ensemble.status());

    const refused = await refusal(ensemble, client.addAuth("digest", `${"u".repeat(1000)}:pw`));
    expect(refused).toBeInstanceOf(LimitExceededError);
    await ensemble.runFor(500);
    expect(state(ensemble.status())).toEqual(stateBefore);
    expect(moved(before, counted(ensemble.status()))).toEqual({ authRefused: 1 });

    // The create goes through as the session's own identities (the refused one was never added) and every replica applies it.
    await settle(ensemble, client.create("/after-attack", "x"));
    expect(await ensemble.converge()).toBe(true);
    expect(moved(before, counted(ensemble.status()))).toMatchObject({ authRefused: 1 });
    expect(counted(ensemble.status()).entriesRefused).toBe(0);

    // The same credentials at connect: the library refuses them before sending anything (the node's own check,
    // connectIdentities, is the same rule: packages/server/test/client-input.test.ts).
    const stateBeforeConnect = state(ensemble.status());
    const atConnect = await refusal(ensemble, CorralClient.connectWith(ensemble.clientEnv("long-connect"), { nodes: [leader], sessionTimeoutMs: 6_000, auth: [`${"u".repeat(1000)}:pw`] }, { clientId: "c-long-connect" }));
    expect(atConnect).toBeInstanceOf(LimitExceededError);
    await ensemble.runFor(200);
    expect(state(ensemble.status())).toEqual(stateBeforeConnect);
    // By hand, past the library: the node refuses the connect (AuthFailed), creates no session, counts it.
    const longUser = new RawSession("c-long-user", ensemble.clientEnv("long-user"));
    await longUser.open();
    longUser.connect(leader, { auth: [{ scheme: "digest", credentials: `${"u".repeat(1000)}:pw` }] });
    await ensemble.runUntil(() => longUser.outcome() !== undefined, 5_000);
    expect(longUser.outcome()).toMatchObject({ type: "connectFailed", code: ErrorCode.AuthFailed });
    // More credentials than a session may hold: the session codec does not read such a connect at all (counted as malformed).
    const malformedBefore = counted(ensemble.status()).malformedMessages;
    const seventeen = new RawSession("c-seventeen", ensemble.clientEnv("seventeen"));
    await seventeen.open();
    seventeen.connect(leader, { auth: Array.from({ length: 17 }, (_, i) => ({ scheme: "digest", credentials: `u${i}:pw` })) });
    await ensemble.runFor(300);
    expect(seventeen.outcome()).toBeUndefined();
    expect(counted(ensemble.status()).malformedMessages).toBeGreaterThan(malformedBefore);
    seventeen.vanish();
    expect(state(ensemble.status())).toEqual(stateBeforeConnect);
    expect(moved(before, counted(ensemble.status())).authRefused).toBe(2);

    await stillServing(ensemble, "crash");
    await settle(ensemble, client.close());
    await ensemble.close();
  });

  it("more than 64 addAuth calls: the library stops at 16, a raw session gets LimitExceeded from the node for every id past 16; its writes still apply", async () => {
    const ensemble = await createSimEnsemble({ seed: 1332 });
    const leader = (await ensemble.waitForLeader()).id;
    const follower = ensemble.nodeIds.find((id) => id !== leader)!;

    // The client library: 16 distinct identities, then its own LimitExceeded; repeats are free.
    const client = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("many"), { nodes: [follower], sessionTimeoutMs: 6_000 }, { clientId: "c-many" }));
    let libraryRefusals = 0;
    for (let i = 0; i < 70; i++) {
      try {
        await settle(ensemble, client.addAuth("digest", `user${i}:pw`));
      } catch (error) {
        expect(error).toBeInstanceOf(LimitExceededError);
        libraryRefusals++;
      }
    }
    expect(libraryRefusals).toBe(70 - 16);
    await settle(ensemble, client.create("/sixteen", "x"));

    // By hand: 70 distinct addAuth requests (and 30 repeats) on one connection, through a follower.
    const before = counted(ensemble.status());
    const stateBefore = state(ensemble.status());
    const raw = await rawSession(ensemble, "raw-many", follower);
    expect(await ensemble.converge()).toBe(true);
    const stateAfterConnect = state(ensemble.status());
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 100; i++) {
      const credentials = i < 70 ? `u${i}:pw` : `u${i % 16}:pw`;
      codes.push(errorCode(await answer(ensemble, raw, raw.send({ type: "addAuth", scheme: "digest", credentials }))));
    }
    expect(codes.slice(0, 16).every((code) => code === undefined)).toBe(true);
    expect(codes.slice(16, 70).every((code) => code === CorralCode.LimitExceeded)).toBe(true);
    expect(codes.slice(70).every((code) => code === undefined)).toBe(true);
    // Nothing proposed for any of it (the connect's createSession aside).
    expect(state(ensemble.status())).toEqual(stateAfterConnect);
    expect(stateAfterConnect).not.toEqual(stateBefore);
    expect(moved(before, counted(ensemble.status())).authRefused).toBe(54);

    // The session's write carries its 16 ids and applies on every replica.
    const created = await answer(ensemble, raw, raw.send({ type: "create", path: "/raw-many", data: new Uint8Array(1), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent }));
    expect(errorCode(created)).toBeUndefined();
    expect(counted(ensemble.status()).entriesRefused).toBe(0);
    await stillServing(ensemble, "many");
    await settle(ensemble, client.close());
    await ensemble.close();
  });

  it("over-limit data and paths: LimitExceeded for an entry too large, a malformed count for what the codec cannot read; nothing proposed", async () => {
    // The smallest entry bound a node accepts, so over-limit writes stay cheap to simulate.
    const maxEntryBytes = 64 * 1024;
    const ensemble = await createSimEnsemble({ seed: 1333, config: { maxEntryBytes } });
    const leader = (await ensemble.waitForLeader()).id;
    const follower = ensemble.nodeIds.find((id) => id !== leader)!;
    const raw = await rawSession(ensemble, "raw-big", follower);
    expect(errorCode(await answer(ensemble, raw, raw.send({ type: "create", path: "/big", data: new Uint8Array(10), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent })))).toBeUndefined();
    expect(await ensemble.converge()).toBe(true);
    const before = counted(ensemble.status());
    const stateBefore = state(ensemble.status());

    const overLimit: ClientOp[] = [
      // One value larger than an entry may be.
      { type: "setData", path: "/big", data: new Uint8Array(maxEntryBytes), version: -1 },
      { type: "create", path: "/big2", data: new Uint8Array(maxEntryBytes + 1), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent },
      // Each value small enough, the multi as a whole not.
      { type: "multi", ops: Array.from({ length: 4 }, (_, i) => ({ type: "setData" as const, path: "/big", data: new Uint8Array(20_000 + i), version: -1 })) },
      // Many ACL entries with long ids: each within the codec's limits, together over the entry bound.
      { type: "create", path: "/acl", data: new Uint8Array(0), acl: Array.from({ length: 200 }, (_, i) => ({ perms: 31, id: { scheme: "digest", id: `${i}:${"x".repeat(1000)}` } })), mode: CreateMode.Persistent },
    ];
    // A refused write does not use up its seq: every attempt carries the session's next one (2), as a client re-sending would.
    for (const op of overLimit) expect(errorCode(await answer(ensemble, raw, raw.send(op, 2))), op.type).toBe(CorralCode.LimitExceeded);
    await ensemble.runFor(300);
    expect(state(ensemble.status())).toEqual(stateBefore);
    expect(moved(before, counted(ensemble.status()))).toEqual({ writesRefused: overLimit.length });
    // The session goes on with that seq.
    expect(errorCode(await answer(ensemble, raw, raw.send({ type: "setData", path: "/big", data: new Uint8Array(100), version: -1 }, 2)))).toBeUndefined();

    // Beyond what the session codec reads at all (a path over 4,096 characters, an id over 1,024): dropped and counted,
    // never answered and never proposed (that connection stalls on its own unreadable message; the node does not).
    for (const [name, op] of [
      ["long-path", { type: "create", path: `/${"p".repeat(5000)}`, data: new Uint8Array(0), acl: OPEN_ACL_UNSAFE, mode: CreateMode.Persistent }],
      ["long-acl-id", { type: "create", path: "/x", data: new Uint8Array(0), acl: [{ perms: 31, id: { scheme: "digest", id: "i".repeat(2000) } }], mode: CreateMode.Persistent }],
      ["huge-data", { type: "setData", path: "/big", data: new Uint8Array(1024 * 1024 + 1), version: -1 }],
    ] as const) {
      const malformedBefore = counted(ensemble.status()).malformedMessages;
      const hostile = await rawSession(ensemble, `raw-${name}`, leader);
      expect(await ensemble.converge()).toBe(true);
      const stateAfterConnect = state(ensemble.status());
      const xid = hostile.send(op as ClientOp);
      await ensemble.runFor(500);
      expect(hostile.response(xid), name).toBeUndefined();
      expect(counted(ensemble.status()).malformedMessages, name).toBeGreaterThan(malformedBefore);
      expect(state(ensemble.status()), name).toEqual(stateAfterConnect);
      hostile.vanish();
    }
    expect(counted(ensemble.status()).entriesRefused).toBe(0);
    await stillServing(ensemble, "big");
    await ensemble.close();
  });

  it("guessed session secrets: refused, counted, rate-limited per session and per endpoint; the victim's session is untouched", async () => {
    const ensemble = await createSimEnsemble({ seed: 1334 });
    const leader = (await ensemble.waitForLeader()).id;
    const victim = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("victim"), { nodes: [leader], sessionTimeoutMs: 6_000 }, { clientId: "c-victim" }));
    await settle(ensemble, victim.create("/lock", "held", { mode: CreateMode.Ephemeral }));
    const victimSession = victim.sessionId!;
    expect(await ensemble.converge()).toBe(true);
    const before = counted(ensemble.status());
    const stateBefore = state(ensemble.status());
    const config = ensemble.node(leader)!.config;

    const guess = async (driver: RawSession, attempt: number): Promise<NodeMessage> => {
      const seen = driver.received.length;
      driver.connect(leader, { sessionId: victimSession, secret: `guess-${attempt}-${"0".repeat(40)}` });
      await ensemble.runUntil(() => driver.received.length > seen, 5_000);
      return driver.outcome()!;
    };

    // One endpoint guessing: every guess fails; after maxFailedAttachesPerSession the session is closed to guesses.
    const guesser = new RawSession("c-guesser", ensemble.clientEnv("guesser"));
    await guesser.open();
    const results: NodeMessage[] = [];
    for (let attempt = 0; attempt < 20; attempt++) results.push(await guess(guesser, attempt));
    expect(results.every((m) => m.type === "connectFailed")).toBe(true);
    const codes = results.map((m) => (m.type === "connectFailed" ? m.code : undefined));
    const perSession = config.maxFailedAttachesPerSession;
    expect(codes.slice(0, perSession).every((code) => code === ErrorCode.AuthFailed)).toBe(true);
    expect(codes.slice(perSession).every((code) => code === CorralCode.TooManyRequests)).toBe(true);
    expect(moved(before, counted(ensemble.status()))).toEqual({ attachesFailed: perSession, attachesRateLimited: 20 - perSession });

    // Fresh endpoints do not get around the per-session bound.
    const afterFirst = counted(ensemble.status());
    for (let attempt = 0; attempt < 5; attempt++) {
      const other = new RawSession(`c-guesser-${attempt}`, ensemble.clientEnv(`guesser-${attempt}`));
      await other.open();
      const result = await guess(other, 100 + attempt);
      expect(result.type === "connectFailed" && result.code).toBe(CorralCode.TooManyRequests);
    }
    expect(moved(afterFirst, counted(ensemble.status()))).toEqual({ attachesRateLimited: 5 });

    // One endpoint guessing at many sessions is bounded per endpoint (unknown sessions count too).
    const afterSecond = counted(ensemble.status());
    const sprayer = new RawSession("c-sprayer", ensemble.clientEnv("sprayer"));
    await sprayer.open();
    const sprayCodes: number[] = [];
    for (let attempt = 0; attempt < config.maxFailedAttachesPerEndpoint + 3; attempt++) {
      const seen = sprayer.received.length;
      sprayer.connect(leader, { sessionId: 0x7000 + attempt, secret: "x".repeat(43) });
      await ensemble.runUntil(() => sprayer.received.length > seen, 5_000);
      const result = sprayer.outcome()!;
      sprayCodes.push(result.type === "connectFailed" ? result.code : 0);
    }
    expect(sprayCodes.slice(0, config.maxFailedAttachesPerEndpoint).every((code) => code !== CorralCode.TooManyRequests)).toBe(true);
    expect(sprayCodes.slice(config.maxFailedAttachesPerEndpoint)).toEqual([CorralCode.TooManyRequests, CorralCode.TooManyRequests, CorralCode.TooManyRequests]);
    expect(moved(afterSecond, counted(ensemble.status()))).toEqual({ attachesFailed: config.maxFailedAttachesPerEndpoint, attachesRateLimited: 3 });

    // Nothing changed: same state, the victim still holds its session and its lock, and can write.
    await ensemble.runFor(300);
    expect(state(ensemble.status())).toEqual(stateBefore);
    expect(victim.sessionId).toBe(victimSession);
    expect((await settle(ensemble, victim.exists("/lock")))?.ephemeralOwner).toBe(victimSession);
    await settle(ensemble, victim.setData("/lock", "still mine"));
    await stillServing(ensemble, "guess");
    await settle(ensemble, victim.close());
    await ensemble.close();
  });
});
