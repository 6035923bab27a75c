/**
 * Issue 15 item 2: a linearizable read must never be served from a read-index
 * reply meant for an earlier incarnation of its node. Read-index refs restart
 * at 1 in every process; a reply to the previous incarnation's ref R that
 * reaches the node after a restart (a late delivery, or a copy replayed by
 * anyone who can write to Redis: peer-auth's replay window starts empty in a
 * new process) used to satisfy the new incarnation's read R with the old
 * index, and the read returned a value older than a write completed before
 * it started.
 */
import { describe, expect, it } from "vitest";
import { createSimEnsemble } from "../../../test/support/sim-ensemble.js";
import { awaitResponse, connectedClient, create, follower, getData, setData, text } from "./helpers.js";

const containsText = (frame: Uint8Array, needle: string): boolean => Buffer.from(frame).includes(needle);

describe("robustness: read-index replies are bound to the incarnation that asked (issue 15 item 2)", () => {
  it("a late reply to the previous incarnation's read R does not satisfy the new incarnation's read R", async () => {
    const captured: { from: string; to: string; frame: Uint8Array }[] = [];
    const ensemble = await createSimEnsemble({
      seed: 1521,
      tap: (from, to, frame) => {
        if (containsText(frame, "readIndexResult")) captured.push({ from, to, frame: frame.slice() });
      },
    });
    const leader = (await ensemble.waitForLeader()).id;
    const target = follower(ensemble, 0);
    const other = follower(ensemble, 1);

    // Incarnation 1 of `target` serves a linearizable read: its ref 1 goes to the leader, the reply is recorded.
    const first = await connectedClient(ensemble, "first", target);
    expect((await awaitResponse(ensemble, first, first.send(create("/x", "old")))).result.type).toBe("create");
    const read = await awaitResponse(ensemble, first, first.send(getData("/x"), { linearizable: true }));
    expect(read.result.type === "getData" && text(read.result.data)).toBe("old");
    const staleReply = captured.find((c) => c.from === leader && c.to === target);
    expect(staleReply).toBeDefined();
    expect((await awaitResponse(ensemble, first, first.send(setData("/x", "new")))).result.type).toBe("setData");

    // Restart: incarnation 2 starts its refs at 1 again.
    await ensemble.crash(target);
    await ensemble.restart(target);
    const reader = await connectedClient(ensemble, "reader", target);
    expect(await ensemble.converge(10_000)).toBe(true);

    // Cut `target` off from its peers (clients still reach it), then complete a write on the majority.
    ensemble.partition([[target], [leader, other]]);
    const writer = await connectedClient(ensemble, "writer", other);
    expect((await awaitResponse(ensemble, writer, writer.send(setData("/x", "newest")))).result.type).toBe("setData");

    // The new incarnation's first linearizable read (its ref 1) starts after that write completed ...
    const xid = reader.send(getData("/x"), { linearizable: true });
    await ensemble.runFor(50);
    expect(reader.response(xid)).toBeUndefined();
    // ... and the old incarnation's reply for ref 1 arrives now.
    const injector = await ensemble.clientEnv("late-network").network.open("c-late-network", () => undefined);
    injector.send(target, staleReply!.frame);
    await ensemble.runFor(100);
    const early = reader.response(xid);
    expect({ answeredWhileCutOff: early !== undefined, value: early?.result.type === "getData" ? text(early.result.data) : undefined }).toEqual({
      answeredWhileCutOff: false,
      value: undefined,
    });

    // Once the node reaches the leader again the read completes, with the write it must see.
    ensemble.heal();
    const answer = await awaitResponse(ensemble, reader, xid, 10_000);
    expect(answer.result.type === "getData" && text(answer.result.data)).toBe("newest");
    await ensemble.close();
  });
});
