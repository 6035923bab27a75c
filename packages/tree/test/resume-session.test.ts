/**
 * WatchRegistry.resumeSession: a reconnecting session's missed events, exact
 * from the node's change history when it reaches back far enough, and from
 * the tree's zxids (with `gap` set for persistent watches) when it does not.
 */
import { AddWatchMode, EventType, emptyWatchSet, type WatchSet } from "@corral/protocol";
import { describe, expect, it } from "vitest";
import type { HistoryEntry } from "../src/index.js";
import { WatchRegistry } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

/** A harness that records every applied entry's changes, as a node's history would. */
class Recorded extends Harness {
  readonly history: HistoryEntry[] = [];
  override txn(...args: Parameters<Harness["txn"]>): ReturnType<Harness["txn"]> {
    const outcome = super.txn(...args);
    if (outcome.changes.length > 0) this.history.push({ zxid: this.zxid, changes: outcome.changes });
    return outcome;
  }
}

const set = (watches: Partial<WatchSet>): WatchSet => ({ ...emptyWatchSet, ...watches });
const seenEvents = (outcome: ReturnType<WatchRegistry["resumeSession"]>) => outcome.events.map((d) => [d.event.type, d.event.path, d.event.zxid]);

/** /app with y and z; the client saw up to `since`; then x is created, y changed, z deleted. */
function scenario(): { h: Recorded; since: number; zxids: { x: number; y: number; z: number } } {
  const h = new Recorded();
  h.create("/app");
  h.create("/app/y", "0");
  h.create("/app/z");
  h.create("/other");
  const since = h.zxid;
  h.create("/app/x");
  const x = h.zxid;
  h.write({ type: "setData", path: "/app/y", data: bytes("1"), version: -1 });
  const y = h.zxid;
  h.write({ type: "delete", path: "/app/z", version: -1 });
  const z = h.zxid;
  h.write({ type: "setData", path: "/other", data: bytes("1"), version: -1 });
  return { h, since, zxids: { x, y, z } };
}

describe("resumeSession with history (exact)", () => {
  it("replays a recursive watch's missed creations, changes and deletions in zxid order, no NodeChildrenChanged", () => {
    const { h, since, zxids } = scenario();
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, since, set({ persistentRecursive: ["/app"] }), h.tree, h.history, h.zxid);
    expect(outcome.gap).toBe(false);
    expect(seenEvents(outcome)).toEqual([
      [EventType.NodeCreated, "/app/x", zxids.x],
      [EventType.NodeDataChanged, "/app/y", zxids.y],
      [EventType.NodeDeleted, "/app/z", zxids.z],
    ]);
    expect(w.has(7, "/app", "recursive")).toBe(true);
  });

  it("a plain persistent watch gets its path's events, NodeChildrenChanged included", () => {
    const { h, since, zxids } = scenario();
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, since, set({ persistent: ["/app", "/app/z"] }), h.tree, h.history, h.zxid);
    expect(seenEvents(outcome)).toEqual([
      [EventType.NodeChildrenChanged, "/app", zxids.x],
      [EventType.NodeDeleted, "/app/z", zxids.z],
      [EventType.NodeChildrenChanged, "/app", zxids.z],
    ]);
    expect(w.has(7, "/app", "persistent") && w.has(7, "/app/z", "persistent")).toBe(true);
  });

  it("one-shot watches fire once, merged with persistent ones in zxid order; the unfired stay registered", () => {
    const { h, since, zxids } = scenario();
    h.write({ type: "setData", path: "/app/y", data: bytes("2"), version: -1 });
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, since, set({ data: ["/app/y", "/other"], exists: ["/nothing"], persistentRecursive: ["/app"] }), h.tree, h.history, h.zxid);
    expect(seenEvents(outcome)).toEqual([
      [EventType.NodeCreated, "/app/x", zxids.x],
      [EventType.NodeDataChanged, "/app/y", zxids.y], // data watch and recursive watch: one event
      [EventType.NodeDeleted, "/app/z", zxids.z],
      [EventType.NodeDataChanged, "/other", zxids.z + 1],
      [EventType.NodeDataChanged, "/app/y", zxids.z + 2], // the recursive watch only
    ]);
    expect(w.has(7, "/app/y", "data")).toBe(false);
    expect(w.has(7, "/nothing", "data")).toBe(true);
  });

  it("nothing after since: nothing missed, no gap", () => {
    const { h } = scenario();
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, h.zxid, set({ persistentRecursive: ["/"], data: ["/app/y"] }), h.tree, [], h.zxid);
    expect(outcome).toEqual({ events: [], gap: false });
    expect(w.has(7, "/app/y", "data")).toBe(true);
  });

  it("history entries out of order are an invariant violation", () => {
    const { h, since } = scenario();
    const w = new WatchRegistry();
    expect(() => w.resumeSession(7, since, set({ persistentRecursive: ["/"] }), h.tree, [...h.history].reverse(), h.zxid)).toThrow(/history zxid/);
  });
});

describe("resumeSession without history (from the tree, gap reported)", () => {
  it("detects creations and changes under a recursive watch, not deletions, and reports the gap", () => {
    const { h, since, zxids } = scenario();
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, since, set({ persistentRecursive: ["/app"] }), h.tree, undefined, h.zxid);
    expect(outcome.gap).toBe(true);
    expect(seenEvents(outcome)).toEqual([
      [EventType.NodeCreated, "/app/x", zxids.x],
      [EventType.NodeDataChanged, "/app/y", zxids.y],
    ]);
    expect(w.has(7, "/app", "recursive")).toBe(true);
  });

  it("a plain persistent watch gets NodeChildrenChanged from pzxid; a created-and-changed node gets both events", () => {
    const { h, since, zxids } = scenario();
    h.write({ type: "setData", path: "/app/x", data: bytes("1"), version: -1 });
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, since, set({ persistent: ["/app", "/app/x"] }), h.tree, undefined, h.zxid);
    expect(outcome.gap).toBe(true);
    expect(seenEvents(outcome)).toEqual([
      [EventType.NodeCreated, "/app/x", zxids.x],
      [EventType.NodeChildrenChanged, "/app", zxids.z],
      [EventType.NodeDataChanged, "/app/x", h.zxid],
    ]);
  });

  it("one-shot watches alone never report a gap (SetWatches is exact enough for them)", () => {
    const { h, since, zxids } = scenario();
    const w = new WatchRegistry();
    const outcome = w.resumeSession(7, since, set({ data: ["/app/y", "/app/z"] }), h.tree, undefined, h.zxid);
    expect(outcome.gap).toBe(false);
    expect(seenEvents(outcome)).toEqual([
      [EventType.NodeDataChanged, "/app/y", zxids.y],
      [EventType.NodeDeleted, "/app/z", h.zxid],
    ]);
  });

  it("no gap when the client saw everything", () => {
    const { h } = scenario();
    const w = new WatchRegistry();
    expect(w.resumeSession(7, h.zxid, set({ persistentRecursive: ["/app"] }), h.tree, undefined, h.zxid)).toEqual({ events: [], gap: false });
  });

  it("matches live firing: replaying history equals what trigger delivered to the same watches", () => {
    const h = new Recorded();
    const live = new WatchRegistry();
    live.addPersistentWatch(7, "/", AddWatchMode.PersistentRecursive);
    live.addPersistentWatch(7, "/a", AddWatchMode.Persistent);
    const delivered: unknown[] = [];
    const apply = (fn: () => void): void => {
      const before = h.history.length;
      fn();
      for (const entry of h.history.slice(before)) delivered.push(...live.trigger(entry.changes, entry.zxid).map((d) => [d.event.type, d.event.path, d.event.zxid]));
    };
    apply(() => h.create("/a"));
    apply(() => h.create("/a/b", "1"));
    apply(() => h.write({ type: "setData", path: "/a", data: bytes("2"), version: -1 }));
    apply(() => h.write({ type: "delete", path: "/a/b", version: -1 }));
    apply(() => h.create("/a/b", "again"));
    const replayed = new WatchRegistry().resumeSession(7, 0, set({ persistent: ["/a"], persistentRecursive: ["/"] }), h.tree, h.history, h.zxid);
    expect(seenEvents(replayed)).toEqual(delivered);
  });
});
