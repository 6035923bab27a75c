/**
 * Hostile input on the peer plane (issue 13): whoever can write into a
 * node's inbox forges, replays and copies frames. A real 3-node ensemble on
 * the simulated network (deterministic: one seed), an attacker endpoint on
 * the same network, and one Redis-backed case where the attacker writes the
 * stream entries itself (naming any sender) and re-adds real frames it read
 * back from an inbox. After every attack the ensemble's state (term, leader,
 * applied index, digest, sessions) is unchanged, the right counter moved,
 * and it still serves writes. Also: a key rotation on a running ensemble
 * refuses nothing and leaves the retired key refused.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import {
  ClusterKeyring,
  PeerAuth,
  SeededRandom,
  encodeActorFrame,
  formatClusterKeyLine,
  inboxKey,
  isSealedPeerFrame,
  nullLogger,
  simulationKeyring,
  type NetworkEndpoint,
} from "@corral/actors";
import { CorralClient, connect } from "@corral/client";
import { encodeTxn } from "@corral/protocol";
import { runNode, type NodeStatus, type RunningNode } from "@corral/server";
import { createSimEnsemble } from "../support/sim-ensemble.js";
import { settle } from "../support/settle.js";
import { startRedis, type TestRedis } from "../support/redis.js";

const CLUSTER = "corral";
const encoder = new TextEncoder();


interface Header {
  readonly sender: string;
  readonly epoch: number;
  readonly seq: number;
}

/** The clear-text header of a sealed frame (peer-auth.ts layout). */
function header(frame: Uint8Array): Header {
  let offset = 2;
  const keyIdLength = frame[offset++]!;
  offset += keyIdLength;
  const senderLength = frame[offset++]!;
  const sender = Buffer.from(frame.subarray(offset, offset + senderLength)).toString("latin1");
  offset += senderLength;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { sender, epoch: view.getUint32(offset), seq: view.getUint32(offset + 4) * 2 ** 32 + view.getUint32(offset + 8) };
}

/**
 * A sealer for `self` with seq starting right after `afterSeq`: a key holder
 * (the member-compromise case) whose frames land a little ahead of the real
 * member's, so the real member's next frames stay inside the receiver's window.
 */
function sealerAfter(self: string, keyring: ClusterKeyring, epoch: number, to: string, afterSeq: number, members: readonly string[], cluster = CLUSTER): PeerAuth {
  const auth = new PeerAuth({ self, cluster, members, keyring, epoch });
  for (let seq = 0; seq < afterSeq; seq++) auth.seal(to, new Uint8Array());
  return auth;
}

const raftFrame = (claimed: string, body: unknown): Uint8Array => encodeActorFrame("raft", { node: claimed, actor: "raft" }, body, { clusterTag: CLUSTER }) as Uint8Array;

/** A propose the leader would turn into entries: a no-op and a new session (both visible in the applied index / session count). */
const proposeBody = { type: "propose", commands: [{ kind: "txn", txn: encodeTxn({ type: "noop" }) }, { kind: "createSession", timeoutMs: 30_000, secretHash: "e".repeat(64), origin: ["evil", 1] }] };
const heartbeatBody = (from: string, to: string): unknown => ({ type: "raft", message: { type: "MsgHeartbeat", from, to, term: 2 ** 53 - 1, commit: 0, readSeq: 0 } });

interface Totals {
  badMac: number;
  unknownKeyId: number;
  nonMember: number;
  replay: number;
  staleEpoch: number;
  malformed: number;
  unauthenticatedFromMember: number;
  unauthenticatedActorFrame: number;
  framesMalformed: number;
  raftOutOfBounds: number;
  verified: number;
}

function totals(statuses: readonly NodeStatus[]): Totals {
  const sum = (value: (s: NodeStatus) => number): number => statuses.reduce((n, s) => n + value(s), 0);
  return {
    badMac: sum((s) => s.peerAuth.rejectedBadMac),
    unknownKeyId: sum((s) => s.peerAuth.rejectedUnknownKeyId),
    nonMember: sum((s) => s.peerAuth.rejectedNonMember),
    replay: sum((s) => s.peerAuth.rejectedReplay),
    staleEpoch: sum((s) => s.peerAuth.rejectedStaleEpoch),
    malformed: sum((s) => s.peerAuth.rejectedMalformed),
    unauthenticatedFromMember: sum((s) => s.peerAuth.rejectedUnauthenticatedFromMember),
    unauthenticatedActorFrame: sum((s) => s.actors.framesUnauthenticated),
    framesMalformed: sum((s) => s.actors.framesMalformed),
    raftOutOfBounds: sum((s) => s.counters.raftOutOfBounds),
    verified: sum((s) => s.peerAuth.framesVerified),
  };
}

const state = (statuses: readonly NodeStatus[]): unknown => statuses.map((s) => ({ id: s.id, role: s.role, term: s.term, leader: s.leader, appliedIndex: s.appliedIndex, digest: s.digest, sessions: s.sessions }));

function delta(before: Totals, after: Totals): Partial<Totals> {
  const out: Partial<Totals> = {};
  for (const key of Object.keys(before) as (keyof Totals)[]) if (key !== "verified" && after[key] !== before[key]) out[key] = after[key] - before[key];
  return out;
}

describe("peer plane under hostile input (simulated ensemble)", () => {
  it("forged, replayed, copied and garbage frames change nothing, each is counted, and writes still work", async () => {
    const members = ["n1", "n2", "n3"];
    // Real traffic, recorded as it leaves each node (sealed for peers).
    const recorded: { from: string; to: string; frame: Uint8Array }[] = [];
    let recording = true;
    const ensemble = await createSimEnsemble({ seed: 1301, tap: (from, to, frame) => void (recording && isSealedPeerFrame(frame) && recorded.length < 20_000 && recorded.push({ from, to, frame })) });
    const leader = (await ensemble.waitForLeader()).id;
    const [follower, other] = members.filter((id) => id !== leader) as [string, string];
    const client = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("app"), { nodes: ensemble.nodeIds, sessionTimeoutMs: 6_000 }, { clientId: "c-app" }));
    await settle(ensemble, client.create("/before", "x"));
    await ensemble.runFor(500);

    // Frames of the follower's first incarnation, then a restart: those frames are now of an older epoch.
    const oldIncarnation = recorded.filter((r) => r.from === follower && r.to === leader).slice(-20);
    expect(oldIncarnation.length).toBe(20);
    await ensemble.crash(follower, { loseUnsynced: false });
    await ensemble.runFor(100);
    await ensemble.restart(follower);
    expect(ensemble.epoch(follower)).toBe(2);
    expect(await ensemble.converge()).toBe(true);
    await ensemble.runFor(500);
    recording = false;

    // Frames copied from two other clusters: one with its own key, one that (wrongly) shares this cluster's key.
    const foreign: Uint8Array[] = [];
    for (const [seed, keyring, clusterName] of [
      [7, simulationKeyring(7, "other-key"), "other"],
      [8, ensemble.keyring, "staging"],
    ] as const) {
      const copies: Uint8Array[] = [];
      const elsewhere = await createSimEnsemble({ seed, keyring, config: { clusterName }, tap: (from, to, frame) => void (from !== leader && to === leader && copies.length < 5 && copies.push(frame)) });
      await elsewhere.waitForLeader();
      await elsewhere.runFor(300);
      await elsewhere.close();
      expect(copies.length).toBe(5);
      foreign.push(...copies);
    }

    const statusBefore = ensemble.status();
    const before = totals(statusBefore);
    const attacker: NetworkEndpoint = await ensemble.network.open("c-evil", () => undefined);
    const leaderSeqFromFollower = Math.max(...recorded.filter((r) => r.from === other && r.to === leader).map((r) => header(r.frame).seq));
    const stolenKey = new ClusterKeyring([{ id: "sim", secret: new Uint8Array(32).fill(0xee) }]);

    // 1. A forged propose from a non-member, sealed under a key of its own; unsealed; and claiming a member under a guessed key.
    attacker.send(leader, new PeerAuth({ self: "evil", cluster: CLUSTER, members: ["evil", leader], keyring: stolenKey, epoch: 1 }).seal(leader, raftFrame("evil", proposeBody)));
    attacker.send(leader, raftFrame(other, proposeBody));
    attacker.send(leader, new PeerAuth({ self: other, cluster: CLUSTER, members, keyring: stolenKey, epoch: 99 }).seal(leader, raftFrame(other, proposeBody)));
    // 2. A heartbeat with term 2^53-1: unsealed, under a guessed key, and sealed with the real key (a compromised or broken member).
    attacker.send(follower, raftFrame(leader, heartbeatBody(leader, follower)));
    attacker.send(follower, new PeerAuth({ self: leader, cluster: CLUSTER, members, keyring: stolenKey, epoch: 99 }).seal(follower, raftFrame(leader, heartbeatBody(leader, follower))));
    const keyHolder = sealerAfter(other, ensemble.keyring, ensemble.epoch(other), leader, leaderSeqFromFollower + 200, members);
    attacker.send(leader, keyHolder.seal(leader, raftFrame(other, heartbeatBody(other, leader))));
    // 3. Replays: frames of the follower's previous incarnation, and a recent frame of the current one.
    for (const { frame } of oldIncarnation) attacker.send(leader, frame);
    const recent = recorded.filter((r) => r.from === other && r.to === leader).slice(-3);
    for (const { frame } of recent) attacker.send(leader, frame);
    // 4. Frames copied from other clusters.
    for (const frame of foreign) attacker.send(leader, frame);
    // 5. Garbage: random bytes, random bytes behind the peer magic, a truncated real frame, JSON of the wrong shape.
    const random = new SeededRandom(13);
    for (let i = 0; i < 20; i++) {
      const junk = new Uint8Array(1 + random.int(200)).map(() => random.int(256));
      junk[0] = 0x7b; // "{": not sealed, not JSON either
      attacker.send(leader, junk);
    }
    for (let i = 0; i < 20; i++) {
      const junk = new Uint8Array(1 + random.int(200)).map(() => random.int(256));
      junk[0] = 0xa5;
      junk[1] = 1;
      attacker.send(follower, junk);
    }
    attacker.send(leader, recent[0]!.frame.subarray(0, 40));
    attacker.send(leader, encoder.encode('{"v":1,"c":"corral","k":"a"}'));

    await ensemble.runFor(1_000);
    const statusAfter = ensemble.status();
    expect(state(statusAfter)).toEqual(state(statusBefore));
    const moved = delta(before, totals(statusAfter));
    const expected: Partial<Totals> = {
      nonMember: 1,
      // Two guessed keys, and the five frames of the cluster that shares our key but not our name.
      badMac: 2 + 5,
      // The five frames of the cluster with its own key.
      unknownKeyId: 5,
      unauthenticatedActorFrame: 2,
      raftOutOfBounds: 1,
      staleEpoch: 20,
      replay: 3,
      malformed: 20 + 1,
      framesMalformed: 20 + 1,
    };
    expect(moved).toEqual(expected);

    // Still serving: a write through every node, and every replica agrees.
    for (const id of members) {
      const writer = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv(`after-${id}`), { nodes: [id], sessionTimeoutMs: 6_000 }, { clientId: `c-after-${id}` }));
      await settle(ensemble, writer.create(`/after-${id}`, "ok"));
      await settle(ensemble, writer.close());
    }
    expect(await ensemble.converge()).toBe(true);
    expect(new Set(ensemble.status().map((s) => s.digest)).size).toBe(1);
    expect(ensemble.status().every((s) => s.term === statusBefore[0]!.term)).toBe(true);

    // Control: the very propose refused above, sealed by a key holder as a member, does take effect:
    // only authentication stood between the attacker and the log.
    recording = true;
    await ensemble.runFor(100);
    const latest = Math.max(...recorded.filter((r) => r.from === other && r.to === leader).map((r) => header(r.frame).seq));
    const sessionsBefore = ensemble.node(leader)!.status().sessions;
    attacker.send(leader, sealerAfter(other, ensemble.keyring, ensemble.epoch(other), leader, latest + 300, members).seal(leader, raftFrame(other, proposeBody)));
    expect(await ensemble.runUntil(() => ensemble.node(leader)!.status().sessions === sessionsBefore + 1, 2_000)).toBe(true);
    await settle(ensemble, client.close());
    await ensemble.close();
  });
});

describe("cluster key rotation on a running ensemble", () => {
  it("accept the new key, sign with it, drop the old one: no frame refused, leader kept, writes served; the old key is then refused", async () => {
    const k1 = { id: "k1", secret: new Uint8Array(32).fill(1) };
    const k2 = { id: "k2", secret: new Uint8Array(32).fill(2) };
    const ensemble = await createSimEnsemble({ seed: 1302, keyring: new ClusterKeyring([k1]) });
    const leader = (await ensemble.waitForLeader()).id;
    const term = ensemble.node(leader)!.status().term;
    const client = await settle(ensemble, CorralClient.connectWith(ensemble.clientEnv("app"), { nodes: ensemble.nodeIds, sessionTimeoutMs: 6_000 }, { clientId: "c-app" }));
    const before = totals(ensemble.status());
    const steps = [new ClusterKeyring([k1, k2]), new ClusterKeyring([k2, k1]), new ClusterKeyring([k2])];
    for (const [step, keyring] of steps.entries()) {
      // One node at a time, with traffic in between, as an operator's SIGHUPs would go.
      for (const id of ensemble.nodeIds) {
        ensemble.node(id)!.setClusterKeys(keyring);
        await ensemble.runFor(150);
      }
      await settle(ensemble, client.create(`/step-${step}`, "ok"));
      expect(ensemble.status().map((s) => s.peerAuth.signingKeyId)).toEqual(ensemble.nodeIds.map(() => keyring.signingKeyId));
    }
    const after = totals(ensemble.status());
    expect(delta(before, after)).toEqual({});
    expect(after.verified).toBeGreaterThan(before.verified);
    expect(ensemble.leader()?.id).toBe(leader);
    expect(ensemble.node(leader)!.status().term).toBe(term);
    // A holder of the retired key only: refused by id.
    const attacker = await ensemble.network.open("c-old-key", () => undefined);
    attacker.send(leader, new PeerAuth({ self: "n9", cluster: CLUSTER, members: [...ensemble.nodeIds, "n9"], keyring: new ClusterKeyring([k1]), epoch: 1 }).seal(leader, raftFrame("n9", proposeBody)));
    const follower = ensemble.nodeIds.find((id) => id !== leader)!;
    attacker.send(leader, new PeerAuth({ self: follower, cluster: CLUSTER, members: ensemble.nodeIds, keyring: new ClusterKeyring([k1]), epoch: 2 ** 31 }).seal(leader, raftFrame(follower, proposeBody)));
    await ensemble.runFor(50);
    expect(delta(after, totals(ensemble.status()))).toEqual({ nonMember: 1, unknownKeyId: 1 });
    await settle(ensemble, client.close());
    await ensemble.close();
  });
});

describe("peer plane under hostile input (Redis)", () => {
  let redis: TestRedis | undefined;
  let dataRoot: string | undefined;
  const running: RunningNode[] = [];

  afterAll(async () => {
    for (const node of running) await node.stop();
    await redis?.stop();
    if (dataRoot !== undefined) await rm(dataRoot, { recursive: true, force: true });
  });

  it("stream entries naming a member, forged MACs and real frames re-added to an inbox are refused", async () => {
    redis = await startRedis();
    dataRoot = await mkdtemp(join(tmpdir(), "corral-peer-plane-"));
    const keyFile = join(dataRoot, "cluster.key");
    await writeFile(keyFile, `${formatClusterKeyLine({ id: "k1", secret: new Uint8Array(32).fill(0x42) })}\n`, { mode: 0o600 });
    const cluster = `hostile${process.pid}`;
    const ids = ["n1", "n2", "n3"];
    for (const id of ids) {
      running.push(
        await runNode(
          { nodeId: id, peers: ids, clusterName: cluster, redisUrl: redis.url, clusterKeyFile: keyFile, dataDir: join(dataRoot, id), adminPort: null, logLevel: "silent", tuning: { tickMs: 10, electionTicks: 20, heartbeatTicks: 3 } },
          { logger: nullLogger },
        ),
      );
    }
    const statuses = (): NodeStatus[] => running.map((r) => r.node.status());
    const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
      const giveUpAt = performance.now() + 15_000;
      while (!condition()) {
        if (performance.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await waitFor(() => statuses().some((s) => s.role === "leader"), "a leader");
    const leader = statuses().find((s) => s.role === "leader")!.id;
    const follower = ids.find((id) => id !== leader)!;
    const client = await connect({ cluster, redis: redis.url, nodes: ids, sessionTimeoutMs: 6_000 });
    await client.create("/before", "x");
    await waitFor(() => new Set(statuses().map((s) => `${s.appliedIndex}:${s.digest}`)).size === 1, "replicas to agree");

    const attacker = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await attacker.connect();
    try {
      // Real sealed frames the follower sent the leader, read back from the leader's inbox (Redis keeps them).
      const inbox = inboxKey(cluster, leader);
      const entries = await attacker.xrangeBuffer(inbox, "-", "+", "COUNT", 50);
      const stolen = entries.flatMap(([, fields]) => (fields[1]!.toString() === follower ? fields.filter((_, i) => i >= 3 && i % 2 === 1) : [])).slice(0, 5);
      expect(stolen.length).toBeGreaterThan(0);
      const before = totals(statuses());
      const stateBefore = state(statuses());
      const add = (to: string, from: string, frame: Uint8Array): Promise<unknown> => attacker.xadd(inboxKey(cluster, to), "*", "f", from, "m", Buffer.from(frame));
      // The stream entry names the follower, but the frame is not sealed: refused before any JSON is read.
      await add(leader, follower, raftFrame(follower, proposeBody));
      // Sealed under a guessed key, claiming the follower.
      await add(leader, follower, new PeerAuth({ self: follower, cluster, members: ids, keyring: new ClusterKeyring([{ id: "k1", secret: new Uint8Array(32).fill(1) }]), epoch: 2 ** 31 }).seal(leader, raftFrame(follower, heartbeatBody(follower, leader))));
      // Real frames, re-added (replayed) under any sender name.
      for (const frame of stolen) await add(leader, "c-anyone", frame);
      await waitFor(() => {
        const after = totals(statuses());
        return after.unauthenticatedFromMember - before.unauthenticatedFromMember >= 1 && after.badMac - before.badMac >= 1 && after.replay + after.staleEpoch - before.replay - before.staleEpoch >= stolen.length;
      }, "the forged frames to be counted");
      const moved = delta(before, totals(statuses()));
      expect(moved.unauthenticatedFromMember).toBe(1);
      expect(moved.badMac).toBe(1);
      expect((moved.replay ?? 0) + (moved.staleEpoch ?? 0)).toBe(stolen.length);
      expect(state(statuses())).toEqual(stateBefore);
      // Still serving.
      await client.setData("/before", "y");
      expect((await client.getData("/before", { linearizable: true })).data).toEqual(encoder.encode("y"));
    } finally {
      attacker.disconnect();
      await client.close();
    }
  });
});
