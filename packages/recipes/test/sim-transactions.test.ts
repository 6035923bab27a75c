/**
 * Two- and three-phase commit on the simulated ensemble: the coordinator's
 * client is cut off for good mid-protocol (its session expires), a recovery
 * coordinator finishes, and every participant reaches the same decision as the
 * tree. The agreement checker is shown to catch a participant that decides
 * locally on timeout.
 */
import { describe, expect, it } from "vitest";
import { ThreePhaseCommit, TransactionParticipant, TwoPhaseCommit, type Decision } from "../src/index.js";
import { checkAgreement, isolateClients, openClient, pause, recipeEnv, settle, withEnsemble } from "./sim-helpers.js";

const SEEDS = [51, 52, 53];
const PARTICIPANTS = ["inventory", "billing", "shipping"];

type Protocol = "2pc" | "3pc";

const cases = SEEDS.flatMap((seed) =>
  (["2pc", "3pc"] as const).flatMap((protocol) =>
    [true, false].flatMap((allYes) => [true, false].map((recovery) => [seed, protocol, allYes, recovery] as [number, Protocol, boolean, boolean])),
  ),
);

describe("2PC and 3PC on the simulated ensemble with a dying coordinator", () => {
  it.each(cases)("seed %i, %s, all vote yes = %s, recovery coordinator = %s: the coordinator is cut off mid-protocol; all agree", async (seed, protocol, allYes, withRecovery) => {
    await withEnsemble({ seed, faults: { drop: 0.02, duplicate: 0.02 } }, async (ensemble) => {
      const txId = `tx-${seed}`;
      const coordinatorClient = await openClient(ensemble, "coordinator");
      const Coordinator = protocol === "2pc" ? TwoPhaseCommit : ThreePhaseCommit;
      const coordinator = new Coordinator(coordinatorClient, recipeEnv(ensemble, "coordinator"), { voteTimeoutMs: 30_000, ackTimeoutMs: 30_000 });
      const observer = await openClient(ensemble, "observer", { sessionTimeoutMs: 4_000 });
      // The coordinator never returns a decision: it is cut off (and its session expires) once the tx exists.
      void coordinator.run(txId, PARTICIPANTS).catch(() => undefined);
      for (let i = 0; i < 100 && (await settle(ensemble, observer.exists(`/tx/${txId}/votes`))) === null; i++) await ensemble.runFor(20);
      isolateClients(ensemble, [coordinatorClient.clientId]);

      const votes = new Map(PARTICIPANTS.map((p, i) => [p, allYes || i !== 1]));
      const participants = await Promise.all(
        PARTICIPANTS.map(async (p) => new TransactionParticipant(await openClient(ensemble, p, { sessionTimeoutMs: 4_000 }), p, recipeEnv(ensemble, p), { decisionTimeoutMs: 20_000 })),
      );
      const decisions = new Map<string, Decision>();
      const voting = participants.map(async (participant, i) => {
        const p = PARTICIPANTS[i]!;
        decisions.set(p, await participant.voteAndAwait(txId, votes.get(p)!));
      });
      let recovered: Decision | undefined;
      const recovery = withRecovery
        ? (async () => {
            await pause(recipeEnv(ensemble, "recovery-wait"), 3_000);
            const client = await openClient(ensemble, "recovery", { sessionTimeoutMs: 4_000 });
            recovered = await new Coordinator(client, recipeEnv(ensemble, "recovery"), { voteTimeoutMs: 15_000, ackTimeoutMs: 5_000 }).finish(txId);
          })()
        : Promise.resolve();
      await settle(ensemble, Promise.all([...voting, recovery]), 90_000);
      const recorded = await settle(ensemble, new TwoPhaseCommit(observer, recipeEnv(ensemble, "observer")).decision(txId));
      // With a recovery coordinator, unanimous yes commits; without one, the participants' timeout rule aborts.
      expect(recorded).toBe(allYes && withRecovery ? "commit" : "abort");
      if (withRecovery) expect(recovered).toBe(recorded);
      expect(decisions.size).toBe(3);
      expect(checkAgreement(decisions, votes, recorded)).toEqual([]);
    });
  });

  it("the agreement checker catches a participant that decides abort locally on timeout", async () => {
    await withEnsemble({ seed: 59 }, async (ensemble) => {
      const txId = "tx-broken";
      const coordinatorClient = await openClient(ensemble, "coordinator");
      const coordinator = new TwoPhaseCommit(coordinatorClient, recipeEnv(ensemble, "coordinator"), { voteTimeoutMs: 30_000 });
      const running = settle(ensemble, coordinator.run(txId, PARTICIPANTS), 60_000);
      const decisions = new Map<string, Decision>();
      const votes = new Map(PARTICIPANTS.map((p) => [p, true]));
      const work = PARTICIPANTS.map(async (p, i) => {
        const env = recipeEnv(ensemble, p);
        const participant = new TransactionParticipant(await openClient(ensemble, p), p, env, { decisionTimeoutMs: 20_000 });
        if (i === 0) {
          // The planted bug: vote yes, wait a little, and on a local timeout decide abort without the tree.
          await participant.vote(txId, true);
          await pause(env, 300);
          decisions.set(p, (await participant.decision(txId)) ?? "abort");
          return;
        }
        // The others vote late (slow but correct): the coordinator commits after the broken one gave up.
        await pause(env, 1_000);
        decisions.set(p, await participant.voteAndAwait(txId, true));
      });
      await settle(ensemble, Promise.all(work), 60_000);
      const recorded = await running;
      expect(recorded).toBe("commit");
      expect(checkAgreement(decisions, votes, recorded).length).toBeGreaterThan(0);
    });
  });
});
