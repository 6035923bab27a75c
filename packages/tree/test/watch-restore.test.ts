/**
 * WatchRegistry.triggerRestore: a replica that installs a snapshot skips the
 * entries the snapshot covers, so the watches registered on it must fire from
 * a comparison of the trees (before: what the replica had applied; after: the
 * snapshot), in zxid order, one-shot watches removed.
 */
import { AddWatchMode, CreateMode, EventType } from "@corral/protocol";
import { describe, expect, it } from "vitest";
import { DataTree, WatchRegistry } from "../src/index.js";
import { Harness, bytes } from "./helpers.js";

function restoredCopy(tree: DataTree): DataTree {
  const copy = DataTree.restore(tree.snapshot());
  if (!(copy instanceof DataTree)) throw copy;
  return copy;
}

describe("WatchRegistry.triggerRestore", () => {
  it("fires what the skipped entries changed, in zxid order, and only that", () => {
    const h = new Harness();
    for (const path of ["/a", "/d", "/u", "/p", "/r", "/r/y", "/r/z", "/again"]) h.create(path, "0");
    const before = restoredCopy(h.tree);
    const watches = new WatchRegistry();
    watches.addDataWatch(7, "/a");
    watches.addExistsWatch(7, "/n");
    watches.addDataWatch(7, "/d");
    watches.addDataWatch(7, "/u");
    watches.addChildWatch(7, "/p");
    watches.addDataWatch(7, "/again");
    watches.addPersistentWatch(8, "/r", AddWatchMode.PersistentRecursive);
    // The entries the snapshot will cover (never applied on the replica).
    h.write({ type: "delete", path: "/d", version: -1 });
    h.write({ type: "setData", path: "/a", data: bytes("1"), version: -1 });
    h.create("/n", "0");
    h.create("/p/child", "0");
    h.create("/r/x", "0");
    h.write({ type: "setData", path: "/r/y", data: bytes("1"), version: -1 });
    h.write({ type: "delete", path: "/r/z", version: -1 });
    h.write({ type: "delete", path: "/again", version: -1 });
    h.create("/again", "1", CreateMode.Persistent);
    h.create("/unwatched", "0");
    const after = h.tree;
    const deliveries = watches.triggerRestore(before, after, after.lastZxid);
    const stat = (path: string) => after.statOf(path)!;
    expect(deliveries.map((d) => [d.sessionId, d.event.type, d.event.path, d.event.zxid])).toEqual([
      [7, EventType.NodeDataChanged, "/a", stat("/a").mzxid],
      [7, EventType.NodeCreated, "/n", stat("/n").czxid],
      [7, EventType.NodeChildrenChanged, "/p", stat("/p").pzxid],
      [8, EventType.NodeCreated, "/r/x", stat("/r/x").czxid],
      [8, EventType.NodeDataChanged, "/r/y", stat("/r/y").mzxid],
      // A re-created node: its deletion came first, at or before the re-creation.
      [7, EventType.NodeDeleted, "/again", stat("/again").czxid],
      // Deletions' own zxids are not in the snapshot: they carry its index.
      [7, EventType.NodeDeleted, "/d", after.lastZxid],
      [8, EventType.NodeDeleted, "/r/z", after.lastZxid],
    ]);
    const zxids = deliveries.map((d) => d.event.zxid);
    expect(zxids).toEqual([...zxids].sort((x, y) => x - y));
    // One-shot watches that fired are gone; the unchanged one and the persistent one stay.
    expect(watches.has(7, "/a", "data")).toBe(false);
    expect(watches.has(7, "/d", "data")).toBe(false);
    expect(watches.has(7, "/p", "child")).toBe(false);
    expect(watches.has(7, "/u", "data")).toBe(true);
    expect(watches.has(8, "/r", "recursive")).toBe(true);
    expect(watches.count(7)).toBe(1);
  });

  it("fires nothing when the snapshot changed nothing watched", () => {
    const h = new Harness();
    h.create("/a", "0");
    const before = restoredCopy(h.tree);
    const watches = new WatchRegistry();
    watches.addDataWatch(1, "/a");
    watches.addPersistentWatch(1, "/a", AddWatchMode.Persistent);
    h.create("/b", "0");
    expect(watches.triggerRestore(before, h.tree, h.tree.lastZxid)).toEqual([]);
    expect(watches.count(1)).toBe(2);
  });
});
