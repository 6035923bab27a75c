import { AddWatchMode, CreateMode, ErrorCode, EventType, NoWatcherError, WatcherType } from "@corral/protocol";
import { describe, expect, it } from "vitest";
import type { TreeChange } from "../src/index.js";
import { WatchRegistry } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

const events = (deliveries: ReturnType<WatchRegistry["trigger"]>) => deliveries.map((d) => [d.sessionId, d.event.type, d.event.path]);

describe("watch semantics (ZooKeeper's table)", () => {
  const cases: { name: string; setup: (w: WatchRegistry) => void; changes: TreeChange[]; expected: [number, number, string][] }[] = [
    { name: "exists watch on a missing node fires NodeCreated", setup: (w) => w.addExistsWatch(1, "/a"), changes: [{ type: "created", path: "/a" }, { type: "childrenChanged", path: "/" }], expected: [[1, EventType.NodeCreated, "/a"]] },
    { name: "data watch fires NodeDataChanged", setup: (w) => w.addDataWatch(1, "/a"), changes: [{ type: "dataChanged", path: "/a" }], expected: [[1, EventType.NodeDataChanged, "/a"]] },
    { name: "data watch fires NodeDeleted", setup: (w) => w.addDataWatch(1, "/a"), changes: [{ type: "deleted", path: "/a" }, { type: "childrenChanged", path: "/" }], expected: [[1, EventType.NodeDeleted, "/a"]] },
    { name: "child watch on the parent fires NodeChildrenChanged on create", setup: (w) => w.addChildWatch(1, "/"), changes: [{ type: "created", path: "/a" }, { type: "childrenChanged", path: "/" }], expected: [[1, EventType.NodeChildrenChanged, "/"]] },
    { name: "child watch fires NodeDeleted when its node goes", setup: (w) => w.addChildWatch(1, "/a"), changes: [{ type: "deleted", path: "/a" }, { type: "childrenChanged", path: "/" }], expected: [[1, EventType.NodeDeleted, "/a"]] },
    { name: "data + child watch of one session: NodeDeleted once", setup: (w) => (w.addDataWatch(1, "/a"), w.addChildWatch(1, "/a")), changes: [{ type: "deleted", path: "/a" }], expected: [[1, EventType.NodeDeleted, "/a"]] },
    { name: "child watch ignores data changes", setup: (w) => w.addChildWatch(1, "/a"), changes: [{ type: "dataChanged", path: "/a" }], expected: [] },
    { name: "data watch ignores child changes", setup: (w) => w.addDataWatch(1, "/a"), changes: [{ type: "childrenChanged", path: "/a" }], expected: [] },
    {
      name: "persistent watch gets data, children and delete events",
      setup: (w) => w.addPersistentWatch(1, "/a", AddWatchMode.Persistent),
      changes: [{ type: "dataChanged", path: "/a" }, { type: "created", path: "/a/b" }, { type: "childrenChanged", path: "/a" }, { type: "dataChanged", path: "/a/b" }, { type: "deleted", path: "/a" }],
      expected: [[1, EventType.NodeDataChanged, "/a"], [1, EventType.NodeChildrenChanged, "/a"], [1, EventType.NodeDeleted, "/a"]],
    },
    {
      name: "persistent-recursive watch gets created/deleted/dataChanged for descendants but no NodeChildrenChanged",
      setup: (w) => w.addPersistentWatch(1, "/a", AddWatchMode.PersistentRecursive),
      changes: [{ type: "created", path: "/a/b" }, { type: "childrenChanged", path: "/a" }, { type: "dataChanged", path: "/a/b" }, { type: "created", path: "/a/b/c" }, { type: "deleted", path: "/a/b/c" }, { type: "dataChanged", path: "/x" }],
      expected: [[1, EventType.NodeCreated, "/a/b"], [1, EventType.NodeDataChanged, "/a/b"], [1, EventType.NodeCreated, "/a/b/c"], [1, EventType.NodeDeleted, "/a/b/c"]],
    },
    {
      name: "several sessions get one event each, in session order",
      setup: (w) => (w.addDataWatch(2, "/a"), w.addDataWatch(1, "/a"), w.addPersistentWatch(3, "/", AddWatchMode.PersistentRecursive)),
      changes: [{ type: "dataChanged", path: "/a" }],
      expected: [[1, EventType.NodeDataChanged, "/a"], [2, EventType.NodeDataChanged, "/a"], [3, EventType.NodeDataChanged, "/a"]],
    },
  ];
  it.each(cases)("$name", ({ setup, changes, expected }) => {
    const w = new WatchRegistry();
    setup(w);
    expect(events(w.trigger(changes, 9))).toEqual(expected);
  });

  it("one-shot watches fire once; persistent ones keep firing", () => {
    const w = new WatchRegistry();
    w.addDataWatch(1, "/a");
    w.addPersistentWatch(2, "/a", AddWatchMode.Persistent);
    expect(events(w.trigger([{ type: "dataChanged", path: "/a" }], 5))).toEqual([[1, 3, "/a"], [2, 3, "/a"]]);
    expect(events(w.trigger([{ type: "dataChanged", path: "/a" }], 6))).toEqual([[2, 3, "/a"]]);
    expect(w.trigger([{ type: "dataChanged", path: "/a" }], 7)[0]?.event).toEqual({ type: EventType.NodeDataChanged, state: 3, path: "/a", zxid: 7 });
  });

  it("removeWatches by type, NoWatcher when none, removeSession drops all", () => {
    const w = new WatchRegistry();
    w.addDataWatch(1, "/a");
    w.addChildWatch(1, "/a");
    expect(w.removeWatches(1, "/a", WatcherType.Children)).toEqual({ removed: [EventType.ChildWatchRemoved] });
    const none = w.removeWatches(1, "/a", WatcherType.Children);
    expect(none).toBeInstanceOf(NoWatcherError);
    expect((none as NoWatcherError).code).toBe(ErrorCode.NoWatcher);
    w.addPersistentWatch(1, "/a", AddWatchMode.PersistentRecursive);
    expect(w.removeWatches(1, "/a", WatcherType.Any)).toEqual({ removed: [EventType.DataWatchRemoved, EventType.PersistentWatchRemoved] });
    w.addDataWatch(4, "/a");
    w.addPersistentWatch(4, "/", AddWatchMode.PersistentRecursive);
    w.removeSession(4);
    expect(w.count(4)).toBe(0);
    expect(w.trigger([{ type: "dataChanged", path: "/a" }], 1)).toEqual([]);
  });

  it("bounds watches per session", () => {
    const w = new WatchRegistry({ maxWatchesPerSession: 2 });
    expect(w.addDataWatch(1, "/a")).toBeUndefined();
    expect(w.addDataWatch(1, "/a")).toBeUndefined(); // same watch: no new slot
    expect(w.addChildWatch(1, "/a")).toBeUndefined();
    expect(w.addDataWatch(1, "/b")?.code).toBe(1003);
    expect(w.addDataWatch(2, "/b")).toBeUndefined();
  });

  it("resume (SetWatches) reports missed events and re-registers the rest", () => {
    const h = new Harness();
    h.create("/a", "1");
    h.create("/b");
    const seen = h.zxid;
    h.write({ type: "setData", path: "/a", data: bytes("2"), version: -1 });
    h.create("/b/c");
    const w = new WatchRegistry();
    const out = w.resume(9, seen, { data: ["/a", "/b", "/gone"], exists: ["/a", "/missing"], child: ["/b", "/a"] }, (p) => h.tree.statOf(p), h.zxid);
    expect(Array.isArray(out) && out.map((d) => [d.event.type, d.event.path])).toEqual([
      [EventType.NodeDataChanged, "/a"],
      [EventType.NodeDeleted, "/gone"],
      [EventType.NodeCreated, "/a"],
      [EventType.NodeChildrenChanged, "/b"],
    ]);
    expect(w.has(9, "/b", "data") && w.has(9, "/missing", "data") && w.has(9, "/a", "child")).toBe(true);
  });

  it("closeSession's ephemeral deletes fire watches end to end", () => {
    const h = new Harness();
    h.session(2);
    h.create("/svc");
    h.create("/svc/e", "", CreateMode.Ephemeral, { sessionId: 2 });
    const w = new WatchRegistry();
    w.addDataWatch(1, "/svc/e");
    w.addChildWatch(3, "/svc");
    const outcome = h.txn({ type: "closeSession", sessionId: 2, reason: "expired" });
    expect(events(w.trigger(outcome.changes, h.zxid))).toEqual([[1, EventType.NodeDeleted, "/svc/e"], [3, EventType.NodeChildrenChanged, "/svc"]]);
  });
});
