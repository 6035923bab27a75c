/**
 * Leader election on the simulated ensemble with a real session expiry (the
 * leader's client is cut off past its session timeout), judged by "at most
 * one leader per fencing token" and a fenced resource.
 */
import { describe, expect, it } from "vitest";
import type { Client } from "@corral/client";
import { CorralClient } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { FencedResource, LeaderLatch, LeaderSelector, type ManagedSessions } from "../src/index.js";
import { LeaderRecorder, expireByIsolation, openClient, openManaged, pause, recipeEnv, settle, withEnsemble } from "./sim-helpers.js";

const SEEDS = [21, 22, 23];

function corral(sessions: ManagedSessions): CorralClient {
  const client = sessions.current();
  if (!(client instanceof CorralClient)) throw new Error("not a CorralClient");
  return client;
}

/**
 * A planted bug: a candidate that believes it leads when it is among the two
 * lowest nodes, and takes the term's token from the lowest node (the term it
 * thinks it shares). Two leaders then report the same token.
 */
async function brokenLatchClaim(client: Client, path: string, name: string): Promise<number | undefined> {
  const created = await client.create(`${path}/${name}-latch-`, "", { mode: CreateMode.EphemeralSequential });
  const { children } = await client.getChildren(path);
  const sorted = children.sort((a, b) => Number(a.slice(-10)) - Number(b.slice(-10)));
  const ours = sorted.indexOf(created.path.slice(path.length + 1));
  if (ours > 1) return undefined;
  const lowest = await client.exists(`${path}/${sorted[0]!}`);
  return lowest?.czxid;
}

describe("leader election on the simulated ensemble with session expiry", () => {
  it.each(SEEDS)("leader latch: the leader's session expires; one leader per token, the old leader rejoins on a new session (seed %i)", async (seed) => {
    await withEnsemble({ seed, faults: { drop: 0.01 } }, async (ensemble) => {
      const recorder = new LeaderRecorder();
      const names = ["l1", "l2", "l3"];
      const sessions = await Promise.all(names.map((name) => openManaged(ensemble, name)));
      const lost: string[] = [];
      const latches = names.map((name, i) => {
        const latch = new LeaderLatch(sessions[i]!, "/election/latch", recipeEnv(ensemble, name), { data: name });
        latch.on("isLeader", (term) => recorder.record(name, term.fencingToken));
        latch.on("notLeader", () => lost.push(name));
        return latch;
      });
      await settle(ensemble, Promise.all(latches.map((l) => l.start())));
      await ensemble.runUntil(() => latches.some((l) => l.hasLeadership()), 20_000);
      const firstIndex = latches.findIndex((l) => l.hasLeadership());
      expect(firstIndex).toBeGreaterThanOrEqual(0);
      const firstTerm = latches[firstIndex]!.currentTerm()!;
      const oldClient = corral(sessions[firstIndex]!);

      await expireByIsolation(ensemble, oldClient);
      expect(lost).toContain(names[firstIndex]);
      // Another candidate leads with a larger token; the old leader joined again on a new session.
      await ensemble.runUntil(() => latches.some((l, i) => i !== firstIndex && l.hasLeadership()) && sessions[firstIndex]!.current() !== oldClient, 30_000);
      const secondIndex = latches.findIndex((l) => l.hasLeadership());
      expect(secondIndex).not.toBe(firstIndex);
      expect(latches[secondIndex]!.currentTerm()!.fencingToken).toBeGreaterThan(firstTerm.fencingToken);
      const observer = await openClient(ensemble, "observer");
      await ensemble.runFor(3_000);
      const { children } = await settle(ensemble, observer.getChildren("/election/latch"));
      expect(children.length).toBe(3);
      expect(latches.filter((l) => l.hasLeadership()).length).toBe(1);
      expect(recorder.violations()).toEqual([]);
      for (const latch of latches) await settle(ensemble, latch.close());
    });
  });

  it.each(SEEDS)("leader selector: the leader is cut off past its session timeout; writes are fenced and terms never share a token (seed %i)", async (seed) => {
    await withEnsemble({ seed }, async (ensemble) => {
      const recorder = new LeaderRecorder();
      const resource = new FencedResource<string>();
      const names = ["s1", "s2", "s3"];
      const sessions = await Promise.all(names.map((name) => openManaged(ensemble, name)));
      let current: string | undefined;
      const selectors = names.map((name, i) => {
        const env = recipeEnv(ensemble, name);
        return new LeaderSelector(sessions[i]!, "/election/selector", env, async ({ fencingToken, signal }) => {
          recorder.record(name, fencingToken);
          current = name;
          for (let step = 0; step < 40 && !signal.aborted; step++) {
            resource.write(fencingToken, name);
            await pause(env, 25);
          }
          if (current === name) current = undefined;
        });
      });
      for (const selector of selectors) selector.start();
      await ensemble.runUntil(() => current !== undefined, 20_000);
      const first = current!;
      const firstIndex = names.indexOf(first);
      await expireByIsolation(ensemble, corral(sessions[firstIndex]!));
      // Run a few more terms after the expiry (each term lasts about a second).
      await ensemble.runUntil(() => recorder.terms.length >= 4, 30_000);
      for (const selector of selectors) await settle(ensemble, selector.close());
      await ensemble.runFor(2_000);
      expect(recorder.terms.length).toBeGreaterThanOrEqual(4);
      expect(recorder.violations()).toEqual([]);
      // Tokens of successive terms only grow, and every accepted write came from the term that owned its token.
      const tokens = recorder.terms.map((t) => t.token);
      expect([...tokens].sort((a, b) => a - b)).toEqual(tokens);
      const ownerOf = new Map(recorder.terms.map((t) => [t.token, t.who]));
      for (const record of resource.accepted) expect(ownerOf.get(record.token)).toBe(record.value);
    });
  });

  it("the one-leader-per-token checker catches a planted latch that leads from second place", async () => {
    await withEnsemble({ seed: 29 }, async (ensemble) => {
      const recorder = new LeaderRecorder();
      for (const name of ["b1", "b2"]) {
        const client = await openClient(ensemble, name);
        const token = await settle(ensemble, (async () => {
          if ((await client.exists("/election")) === null) await client.create("/election", "").catch(() => undefined);
          if ((await client.exists("/election/broken")) === null) await client.create("/election/broken", "").catch(() => undefined);
          return brokenLatchClaim(client, "/election/broken", name);
        })());
        if (token !== undefined) recorder.record(name, token);
      }
      expect(recorder.violations().length).toBe(1);
    });
  });
});
