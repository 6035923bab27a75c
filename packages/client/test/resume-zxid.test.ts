/**
 * On a resume the node answers "connected" (with its applied zxid) and then
 * sends the watch events the session missed. The client must not count that
 * zxid as seen before those events arrive: if the connection drops between
 * them, the next node would be told the client saw the change and skip the
 * event, so a one-shot watch on a changed node would never fire
 * (found by the whole-system simulator, seed 200194).
 */
import { EventType } from "@corral/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import type { WatchedEvent } from "../src/index.js";
import { ensembleWithLeader, newClient, run } from "./helpers.js";

let ensemble: SimEnsemble | undefined;
afterEach(async () => {
  await ensemble?.close();
  ensemble = undefined;
});

describe("resuming a session", () => {
  it("lastZxid does not pass a missed change before its event arrives; the event survives a second failover", async () => {
    ensemble = await ensembleWithLeader({ seed: 200194 });
    const e = ensemble;
    const client = await newClient(e, "watcher");
    const writer = await newClient(e, "writer");
    await run(e, writer.create("/w", "0"));
    const events: WatchedEvent[] = [];
    await run(e, client.getData("/w", { watch: (event) => events.push(event) }));
    const first = client.nodeId!;
    e.partition([[client.clientId], [...e.nodeIds]]);
    const changed = await run(e, writer.setData("/w", "1"));
    expect(await e.converge()).toBe(true);
    e.heal();
    e.fault({ kind: "block", from: first, to: client.clientId });
    e.fault({ kind: "block", from: client.clientId, to: first });
    // When the resume is reported the missed event has not arrived yet, so lastZxid must still be below the change. Cut the resumed connection right there, as a lost frame would.
    const atConnected: { lastZxid: number; eventsSeen: number; nodeId: string }[] = [];
    client.on("state", (change) => {
      if (change.state !== "connected" || change.nodeId === undefined || atConnected.length > 0) return;
      atConnected.push({ lastZxid: client.lastZxid, eventsSeen: events.length, nodeId: change.nodeId });
      e.fault({ kind: "block", from: change.nodeId, to: client.clientId });
      e.fault({ kind: "block", from: client.clientId, to: change.nodeId });
    });
    expect(await e.runUntil(() => atConnected.length > 0, 30_000)).toBe(true);
    const resumed = atConnected[0]!;
    expect(resumed.eventsSeen).toBe(0); // the events follow "connected" on the channel
    expect(resumed.lastZxid).toBeLessThan(changed.mzxid);
    // The resumed connection is cut: a third node must still deliver the event, once.
    expect(await e.runUntil(() => client.state === "connected" && client.nodeId !== resumed.nodeId && client.nodeId !== first, 30_000)).toBe(true);
    expect(await e.runUntil(() => events.length > 0, 10_000)).toBe(true);
    await e.runFor(2_000);
    expect(events.map((event) => [event.type, event.path, event.zxid])).toEqual([[EventType.NodeDataChanged, "/w", changed.mzxid]]);
    e.heal();
    await run(e, client.close());
    await run(e, writer.close());
  });
});
