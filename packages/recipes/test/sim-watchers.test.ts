/**
 * Watch-driven recipes on the simulated ensemble with partitions and session
 * expiry: caches converge to the tree after a partition heals; registrations
 * and group members come back after their session expires; barriers hold
 * everyone until they may go.
 */
import { describe, expect, it } from "vitest";
import type { Client } from "@corral/client";
import { CorralClient } from "@corral/client";
import { Barrier, ChildrenCache, ConfigSubscription, DoubleBarrier, GroupMember, GroupMembership, NodeCache, ServiceDiscovery, ServiceRegistry, TreeCache, type CacheEvent, type ManagedSessions } from "../src/index.js";
import { expireByIsolation, openClient, openManaged, recipeEnv, settle, withEnsemble, type SimEnsemble } from "./sim-helpers.js";

const SEEDS = [31, 32, 33];
const decoder = new TextDecoder();

function corral(sessions: ManagedSessions): CorralClient {
  const client = sessions.current();
  if (!(client instanceof CorralClient)) throw new Error("not a CorralClient");
  return client;
}

/** path -> text of every node at and below `root`, read from the tree. */
async function readTree(client: Client, root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (path: string): Promise<void> => {
    const { data } = await client.getData(path);
    out.set(path, decoder.decode(data));
    const { children } = await client.getChildren(path);
    for (const child of children) await visit(`${path}/${child}`);
  };
  await visit(root);
  return out;
}

function sorted(map: ReadonlyMap<string, string>): [string, string][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Apply cache events to a map: what a consumer that only listens would believe. */
function replay(events: readonly CacheEvent[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const event of events) {
    if (event.type === "added" || event.type === "updated") out.set(event.path, decoder.decode(event.node.data));
    else if (event.type === "removed") out.delete(event.path);
  }
  return out;
}

/** Random writes under /app: creates, updates and deletes of leaves (and of /app/config). */
async function mutate(ensemble: SimEnsemble, client: Client, rounds: number, seedLabel: string): Promise<void> {
  const random = ensemble.sim.random.fork(seedLabel);
  for (let i = 0; i < rounds; i++) {
    const name = `/app/n${random.int(6)}`;
    const roll = random.int(4);
    try {
      if (roll === 0) await client.delete(name);
      else if ((await client.exists(name)) === null) await client.create(name, `v${i}`);
      else await client.setData(name, `v${i}`);
      if (roll === 3) await client.setData("/app/config", `config-${i}`);
    } catch (error) {
      const tag = (error as { _tag?: string })._tag;
      if (tag !== "NoNode" && tag !== "NodeExists") throw error;
    }
  }
}

describe("caches, discovery and barriers on the simulated ensemble", () => {
  it.each(SEEDS.flatMap((seed) => [[seed, 1_000], [seed, 8_000]] as const))(
    "tree/node/children caches behind a partition converge to the tree after it heals (seed %i, partition %i ms)",
    async (seed, partitionMs) => {
      await withEnsemble({ seed, faults: { drop: 0.01, duplicate: 0.01 } }, async (ensemble) => {
        const leader = ensemble.leader()!;
        const cut = ensemble.nodeIds.find((id) => id !== leader.id)!;
        const majority = ensemble.nodeIds.filter((id) => id !== cut);
        const writer = await openClient(ensemble, "writer", { nodes: majority, sessionTimeoutMs: 4_000 });
        await settle(ensemble, writer.create("/app", "root"));
        await settle(ensemble, writer.create("/app/config", "config-0"));
        await settle(ensemble, mutate(ensemble, writer, 10, "before"));
        const sessions = await openManaged(ensemble, "cache", { nodes: [cut], sessionTimeoutMs: 4_000 });
        const tree = new TreeCache(sessions, "/app", recipeEnv(ensemble, "tree"));
        const node = new NodeCache(sessions, "/app/config", recipeEnv(ensemble, "node"));
        const children = new ChildrenCache(sessions, "/app", recipeEnv(ensemble, "children"));
        const treeEvents: CacheEvent[] = [];
        tree.on("event", (event) => treeEvents.push(event));
        await settle(ensemble, Promise.all([tree.start(), node.start(), children.start()]));
        await settle(ensemble, Promise.all([tree.ready({ timeoutMs: 20_000 }), node.ready({ timeoutMs: 20_000 }), children.ready({ timeoutMs: 20_000 })]));
        const firstClient = sessions.current();

        ensemble.partition([[cut, corral(sessions).clientId], [...majority, writer.clientId]]);
        await settle(ensemble, mutate(ensemble, writer, 15, "during"));
        await ensemble.runFor(partitionMs);
        ensemble.heal();
        await settle(ensemble, mutate(ensemble, writer, 5, "after"));

        const truth = await settle(ensemble, readTree(writer, "/app"));
        const converged = (): boolean => {
          const cached = new Map(tree.all().map((n) => [n.path, decoder.decode(n.data)]));
          const kids = [...children.children().keys()].map((k) => (k.startsWith("/") ? k : `/app/${k}`)).sort();
          const truthKids = [...truth.keys()].filter((p) => p.split("/").length === 3).sort();
          return (
            JSON.stringify(sorted(cached)) === JSON.stringify(sorted(truth)) &&
            JSON.stringify(sorted(replay(treeEvents))) === JSON.stringify(sorted(truth)) &&
            JSON.stringify(kids) === JSON.stringify(truthKids) &&
            decoder.decode(node.current()?.data ?? new Uint8Array()) === truth.get("/app/config")
          );
        };
        await ensemble.runUntil(converged, 30_000);
        expect(sorted(new Map(tree.all().map((n) => [n.path, decoder.decode(n.data)])))).toEqual(sorted(truth));
        expect(sorted(replay(treeEvents))).toEqual(sorted(truth));
        expect(decoder.decode(node.current()?.data ?? new Uint8Array())).toBe(truth.get("/app/config"));
        expect(converged()).toBe(true);
        // The long partition outlived the session: the caches rebuilt on a new one.
        if (partitionMs > 4_000) expect(sessions.current()).not.toBe(firstClient);
        await settle(ensemble, Promise.all([tree.close(), node.close(), children.close()]));
      });
    },
  );

  it.each(SEEDS)("config subscription: each value exactly once, in order, across a session expiry (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: { drop: 0.01 } }, async (ensemble) => {
      const writer = await openClient(ensemble, "writer", { sessionTimeoutMs: 4_000 });
      await settle(ensemble, writer.create("/config", ""));
      await settle(ensemble, writer.create("/config/db", "v1"));
      const sessions = await openManaged(ensemble, "subscriber");
      const subscription = new ConfigSubscription(sessions, "/config/db", recipeEnv(ensemble, "subscription"));
      const seen: (string | undefined)[] = [];
      subscription.subscribe((value) => seen.push(value?.text));
      expect((await settle(ensemble, subscription.start()))?.text).toBe("v1");
      await settle(ensemble, writer.setData("/config/db", "v2"));
      await ensemble.runUntil(() => subscription.current()?.text === "v2", 10_000);
      const isolated = corral(sessions);
      const expiring = expireByIsolation(ensemble, isolated);
      await ensemble.runFor(500);
      await settle(ensemble, writer.setData("/config/db", "v3"));
      await expiring;
      await ensemble.runUntil(() => sessions.current() !== isolated && subscription.current()?.text === "v3", 20_000);
      await settle(ensemble, writer.delete("/config/db"));
      await ensemble.runUntil(() => subscription.current() === undefined, 10_000);
      await ensemble.runFor(1_000);
      expect(seen).toEqual(["v1", "v2", "v3", undefined]);
      await settle(ensemble, subscription.close());
    });
  });

  it.each(SEEDS)("service registry re-registers after its session expires and discovery sees it come back (seed %i)", async (seed) => {
    await withEnsemble({ seed }, async (ensemble) => {
      const registrySessions = await openManaged(ensemble, "provider");
      const registry = new ServiceRegistry(registrySessions, recipeEnv(ensemble, "registry"));
      await settle(ensemble, registry.register({ name: "api", id: "api-1", address: "10.0.0.1", port: 8080 }));
      await settle(ensemble, registry.register({ name: "api", id: "api-2", address: "10.0.0.2", port: 8080 }));
      const discovery = new ServiceDiscovery(await openClient(ensemble, "consumer", { sessionTimeoutMs: 4_000 }), "api", recipeEnv(ensemble, "discovery"));
      const seen: string[][] = [];
      discovery.on("change", (instances) => seen.push(instances.map((i) => i.id).sort()));
      await settle(ensemble, discovery.start());
      await settle(ensemble, discovery.ready({ timeoutMs: 10_000 }));
      expect(discovery.instances().map((i) => i.id).sort()).toEqual(["api-1", "api-2"]);
      const creationsBefore = registry.creations;

      await expireByIsolation(ensemble, corral(registrySessions));
      await ensemble.runUntil(() => discovery.instances().length === 2 && registry.creations >= creationsBefore + 2, 30_000);
      expect(registry.creations).toBeGreaterThanOrEqual(creationsBefore + 2);
      expect(discovery.instances().map((i) => i.id).sort()).toEqual(["api-1", "api-2"]);
      // Discovery saw them go with the old session and come back with the new one.
      expect(seen.some((ids) => ids.length < 2)).toBe(true);
      await settle(ensemble, registry.close());
      await ensemble.runUntil(() => discovery.instances().length === 0, 10_000);
      expect(discovery.instances()).toEqual([]);
    });
  });

  it.each(SEEDS)("group membership: join, leave, and a member whose session expires leaves then rejoins (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: { drop: 0.01 } }, async (ensemble) => {
      const group = new GroupMembership(await openClient(ensemble, "watcher", { sessionTimeoutMs: 4_000 }), "/groups/workers", recipeEnv(ensemble, "group"));
      const events: string[] = [];
      group.on("join", (m) => events.push(`join ${m.id}`));
      group.on("leave", (m) => events.push(`leave ${m.id}`));
      await settle(ensemble, group.start());
      await settle(ensemble, group.ready({ timeoutMs: 10_000 }));
      const sessions = await Promise.all(["w1", "w2", "w3"].map((id) => openManaged(ensemble, id)));
      const members = ["w1", "w2", "w3"].map((id, i) => new GroupMember(sessions[i]!, "/groups/workers", id, recipeEnv(ensemble, `member:${id}`)));
      for (const member of members) await settle(ensemble, member.join());
      await ensemble.runUntil(() => group.members().length === 3, 10_000);
      expect(group.members().sort()).toEqual(["w1", "w2", "w3"]);
      await settle(ensemble, members[1]!.leave());
      await expireByIsolation(ensemble, corral(sessions[2]!));
      await ensemble.runUntil(() => events.filter((e) => e === "join w3").length === 2 && group.members().length === 2, 30_000);
      expect(group.members().sort()).toEqual(["w1", "w3"]);
      expect(events.filter((e) => e.endsWith("w1"))).toEqual(["join w1"]);
      expect(events.filter((e) => e.endsWith("w2"))).toEqual(["join w2", "leave w2"]);
      expect(events.filter((e) => e.endsWith("w3"))).toEqual(["join w3", "leave w3", "join w3"]);
    });
  });

  it.each(SEEDS)("barrier and double barrier hold everyone until they may go, across a leader crash (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: { drop: 0.02, duplicate: 0.02 } }, async (ensemble) => {
      const now = (): number => ensemble.sim.now();
      const owner = new Barrier(await openClient(ensemble, "owner", { sessionTimeoutMs: 4_000 }), "/barriers/deploy", recipeEnv(ensemble, "owner"));
      await settle(ensemble, owner.set());
      const waiters = await Promise.all(["b1", "b2", "b3"].map(async (name) => new Barrier(await openClient(ensemble, name, { sessionTimeoutMs: 4_000 }), "/barriers/deploy", recipeEnv(ensemble, name))));
      const passedAt: number[] = [];
      const waits = waiters.map(async (b) => {
        await b.wait({ timeoutMs: 60_000 });
        passedAt.push(now());
      });
      await ensemble.runFor(300);
      const leader = ensemble.leader()!;
      await ensemble.crash(leader.id);
      await ensemble.runFor(1_000);
      expect(passedAt).toEqual([]);
      const removedAt = now();
      await settle(ensemble, owner.remove());
      await settle(ensemble, Promise.all(waits));
      expect(passedAt.length).toBe(3);
      for (const t of passedAt) expect(t).toBeGreaterThanOrEqual(removedAt);
      await ensemble.restart(leader.id);

      const names = ["d1", "d2", "d3"];
      const doubles = await Promise.all(names.map(async (name) => new DoubleBarrier(await openClient(ensemble, name, { sessionTimeoutMs: 4_000 }), "/barriers/phase", 3, name, recipeEnv(ensemble, `double:${name}`))));
      const enterStart: number[] = [];
      const entered: number[] = [];
      const leaveStart: number[] = [];
      const left: number[] = [];
      await settle(
        ensemble,
        Promise.all(
          doubles.map(async (d, i) => {
            await new Promise<void>((resolve) => ensemble.sim.clockFor(`stagger:${i}`).setTimer(i * 400, resolve));
            enterStart.push(now());
            await d.enter({ timeoutMs: 60_000 });
            entered.push(now());
            await new Promise<void>((resolve) => ensemble.sim.clockFor(`work:${i}`).setTimer((2 - i) * 300, resolve));
            leaveStart.push(now());
            await d.leave({ timeoutMs: 60_000 });
            left.push(now());
          }),
        ),
        120_000,
      );
      // Nobody passed enter before the last member arrived, nor leave before the last one started leaving.
      expect(Math.min(...entered)).toBeGreaterThanOrEqual(Math.max(...enterStart));
      expect(Math.min(...left)).toBeGreaterThanOrEqual(Math.max(...leaveStart));
    });
  });
});
