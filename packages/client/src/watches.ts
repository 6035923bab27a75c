/**
 * The client-side watch registry (pure). Keyed by the server-side path and the
 * kind of watch, so that after a reconnect the whole set can be presented to
 * the new node (`watchSet()`), and each incoming event reaches exactly the
 * watchers it concerns — ZooKeeper's ZKWatchManager rules:
 * - NodeCreated / NodeDataChanged: data and exists watchers of the path;
 * - NodeDeleted: data, exists and child watchers of the path;
 * - NodeChildrenChanged: child watchers of the path;
 * - persistent watchers of the path get every event type; persistent-recursive
 *   watchers of the path or an ancestor get all but NodeChildrenChanged.
 * One-shot watchers are removed when they fire; persistent ones stay until removed.
 */
import { AddWatchMode, EventType, WatcherType, type WatchSet } from "@corral/protocol";
import { isInSubtree, parentPath } from "@corral/protocol";
import type { Watcher } from "./api.js";

export type OneShotKind = "data" | "exists" | "child";
type Kind = OneShotKind | "persistent" | "recursive";
const KINDS: readonly Kind[] = ["data", "exists", "child", "persistent", "recursive"];

/** A watcher removed by `remove`, with the event ZooKeeper reports to it. */
export interface RemovedWatcher {
  readonly watcher: Watcher;
  readonly type: EventType;
}

export class WatchRegistry {
  private readonly byKind: Record<Kind, Map<string, Set<Watcher>>> = {
    data: new Map(),
    exists: new Map(),
    child: new Map(),
    persistent: new Map(),
    recursive: new Map(),
  };

  constructor(private readonly maxWatchers: number) {}

  /** Watchers registered, over all kinds and paths. */
  size(): number {
    let count = 0;
    for (const kind of KINDS) for (const set of this.byKind[kind].values()) count += set.size;
    return count;
  }

  /** False when the registry is at its bound (nothing is added). */
  addOneShot(kind: OneShotKind, path: string, watcher: Watcher): boolean {
    return this.add(kind, path, watcher);
  }

  addPersistent(mode: AddWatchMode, path: string, watcher: Watcher): boolean {
    return this.add(mode === AddWatchMode.PersistentRecursive ? "recursive" : "persistent", path, watcher);
  }

  hasRoom(): boolean {
    return this.size() < this.maxWatchers;
  }

  private add(kind: Kind, path: string, watcher: Watcher): boolean {
    if (!this.hasRoom()) return false;
    let set = this.byKind[kind].get(path);
    if (set === undefined) {
      set = new Set();
      this.byKind[kind].set(path, set);
    }
    set.add(watcher);
    return true;
  }

  /** The watchers an event reaches (each once), one-shot ones removed. */
  take(type: EventType, path: string): Watcher[] {
    const out = new Set<Watcher>();
    const takeOneShot = (kind: OneShotKind): void => {
      const set = this.byKind[kind].get(path);
      if (set === undefined) return;
      this.byKind[kind].delete(path);
      for (const watcher of set) out.add(watcher);
    };
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        takeOneShot("data");
        takeOneShot("exists");
        break;
      case EventType.NodeDeleted:
        takeOneShot("data");
        takeOneShot("exists");
        takeOneShot("child");
        break;
      case EventType.NodeChildrenChanged:
        takeOneShot("child");
        break;
      default:
        return [];
    }
    for (const watcher of this.byKind.persistent.get(path) ?? []) out.add(watcher);
    if (type !== EventType.NodeChildrenChanged) {
      // Walk the path and its ancestors: the recursive watches that cover it.
      let current = path;
      for (;;) {
        for (const watcher of this.byKind.recursive.get(current) ?? []) out.add(watcher);
        if (current === "/") break;
        current = parentPath(current);
      }
    }
    return [...out];
  }

  /**
   * Remove watchers of `path` (all of the given type, or only `watcher`).
   * `serverKinds` lists the kinds left with no watcher at that path: those the
   * node should forget too.
   */
  remove(path: string, type: WatcherType, watcher?: Watcher): { removed: RemovedWatcher[]; emptied: Kind[] } {
    const kinds: Kind[] =
      type === WatcherType.Children ? ["child"] : type === WatcherType.Data ? ["data", "exists"] : ["data", "exists", "child", "persistent", "recursive"];
    const removed: RemovedWatcher[] = [];
    const emptied: Kind[] = [];
    for (const kind of kinds) {
      const set = this.byKind[kind].get(path);
      if (set === undefined) continue;
      const eventType = kind === "child" ? EventType.ChildWatchRemoved : kind === "data" || kind === "exists" ? EventType.DataWatchRemoved : EventType.PersistentWatchRemoved;
      for (const candidate of [...set]) {
        if (watcher !== undefined && candidate !== watcher) continue;
        set.delete(candidate);
        removed.push({ watcher: candidate, type: eventType });
      }
      if (set.size === 0) {
        this.byKind[kind].delete(path);
        emptied.push(kind);
      }
    }
    return { removed, emptied };
  }

  /** What to re-register on a new connection. */
  watchSet(): WatchSet {
    const paths = (kind: Kind): string[] => [...this.byKind[kind].keys()].sort();
    return { data: paths("data"), exists: paths("exists"), child: paths("child"), persistent: paths("persistent"), persistentRecursive: paths("recursive") };
  }

  clear(): void {
    for (const kind of KINDS) this.byKind[kind].clear();
  }

  /** True if any watcher could receive an event for `path` (used to drop foreign events cheaply). */
  covers(path: string): boolean {
    for (const kind of ["data", "exists", "child", "persistent"] as const) if (this.byKind[kind].has(path)) return true;
    for (const root of this.byKind.recursive.keys()) if (isInSubtree(path, root)) return true;
    return false;
  }
}
