/**
 * The watch registry: pure, node-local, never replicated. A watcher is a
 * session id; the node maps sessions to connections.
 *
 * Semantics mirror ZooKeeper's WatchManager pair (dataWatches, childWatches):
 * - getData and exists watches are one-shot "data" watches (exists may watch a
 *   missing node); they fire NodeCreated, NodeDataChanged, NodeDeleted.
 * - getChildren watches are one-shot "child" watches; they fire
 *   NodeChildrenChanged, and NodeDeleted when the watched node itself goes.
 * - persistent watches (addWatch Persistent) sit in both and are never removed
 *   by firing.
 * - persistent-recursive watches fire NodeCreated, NodeDeleted and
 *   NodeDataChanged for the node and every descendant, never NodeChildrenChanged.
 * - one event reaches a session at most once, however many of its watches match.
 */
import type { ACL, AddWatchMode, EventType, Stat, WatchEvent, WatchSet } from "@corral/protocol";
import { AddWatchMode as Mode, EventType as Event, KeeperState, LimitExceededError, NoWatcherError, WatcherType, parentPath } from "@corral/protocol";
import type { DataTree, TreeChange } from "./data-tree.js";
import { TreeInvariantViolation } from "./errors.js";

export interface WatchDelivery {
  readonly sessionId: number;
  readonly event: WatchEvent;
}

export interface WatchLimits {
  /** Watches one session may hold (each path/kind pair counts once). */
  readonly maxWatchesPerSession: number;
}
export const defaultWatchLimits: WatchLimits = Object.freeze({ maxWatchesPerSession: 100_000 });

type Kind = "data" | "child" | "persistent" | "recursive";
const KINDS: readonly Kind[] = ["data", "child", "persistent", "recursive"];

/** The changes one applied entry made, as a node's recent history keeps them. */
export interface HistoryEntry {
  readonly zxid: number;
  readonly changes: readonly TreeChange[];
}

/** What `resumeSession` found. */
export interface ResumeOutcome {
  /** Missed events, in zxid order. */
  readonly events: WatchDelivery[];
  /** True when persistent watches may have missed events that could not be reconstructed (deletions). */
  readonly gap: boolean;
}

/** What `removeWatches` removed, as the events ZooKeeper reports for removal. */
export interface RemovedWatches {
  readonly removed: readonly EventType[];
}

export class WatchRegistry {
  private readonly byKind: Record<Kind, Map<string, Set<number>>> = {
    data: new Map(),
    child: new Map(),
    persistent: new Map(),
    recursive: new Map(),
  };
  /** sessionId -> kind -> paths, for removeSession and the per-session limit. */
  private readonly bySession = new Map<number, Map<Kind, Set<string>>>();
  private readonly limits: WatchLimits;

  constructor(limits: Partial<WatchLimits> = {}) {
    this.limits = { ...defaultWatchLimits, ...limits };
  }

  /** getData watch (node exists), or exists watch (node may be missing). */
  addDataWatch(sessionId: number, path: string): LimitExceededError | undefined {
    return this.add("data", sessionId, path);
  }

  /** exists watch: same registry as data watches in ZooKeeper. */
  addExistsWatch(sessionId: number, path: string): LimitExceededError | undefined {
    return this.add("data", sessionId, path);
  }

  addChildWatch(sessionId: number, path: string): LimitExceededError | undefined {
    return this.add("child", sessionId, path);
  }

  addPersistentWatch(sessionId: number, path: string, mode: AddWatchMode): LimitExceededError | undefined {
    return this.add(mode === Mode.PersistentRecursive ? "recursive" : "persistent", sessionId, path);
  }

  /**
   * ZooKeeper's removeWatches for one session: Children removes child and
   * persistent watches, Data removes data, persistent and recursive watches,
   * Any removes all. NoWatcherError when nothing matched.
   */
  removeWatches(sessionId: number, path: string, watcherType: WatcherType): RemovedWatches | NoWatcherError {
    const kinds: Kind[] =
      watcherType === WatcherType.Children ? ["child", "persistent"] : watcherType === WatcherType.Data ? ["data", "persistent", "recursive"] : [...KINDS];
    const removed: EventType[] = [];
    for (const kind of kinds) {
      if (!this.remove(kind, sessionId, path)) continue;
      const event = kind === "data" ? Event.DataWatchRemoved : kind === "child" ? Event.ChildWatchRemoved : Event.PersistentWatchRemoved;
      if (!removed.includes(event)) removed.push(event);
    }
    return removed.length === 0 ? new NoWatcherError(path) : { removed };
  }

  /** Drops every watch of a closed or expired session. */
  removeSession(sessionId: number): void {
    const kinds = this.bySession.get(sessionId);
    if (kinds === undefined) return;
    for (const [kind, paths] of kinds) {
      for (const path of paths) {
        const watchers = this.byKind[kind].get(path);
        watchers?.delete(sessionId);
        if (watchers?.size === 0) this.byKind[kind].delete(path);
      }
    }
    this.bySession.delete(sessionId);
  }

  /** Number of watches a session holds. */
  count(sessionId: number): number {
    let total = 0;
    for (const paths of this.bySession.get(sessionId)?.values() ?? []) total += paths.size;
    return total;
  }

  /** True if the session holds a watch of this kind on this path. */
  has(sessionId: number, path: string, kind: Kind): boolean {
    return this.byKind[kind].get(path)?.has(sessionId) ?? false;
  }

  /**
   * The watch events ZooKeeper would deliver for these changes (from one
   * applied entry, in order), per session, one-shot watches removed as they fire.
   */
  trigger(changes: readonly TreeChange[], zxid: number): WatchDelivery[] {
    const out: WatchDelivery[] = [];
    for (const change of changes) {
      const recipients = new Set<number>();
      const path = change.path;
      switch (change.type) {
        case "created":
          this.fireOneShot("data", path, recipients);
          this.collect("persistent", path, recipients);
          this.collectRecursive(path, recipients);
          this.emit(out, recipients, Event.NodeCreated, path, zxid, change.acl);
          break;
        case "dataChanged":
          this.fireOneShot("data", path, recipients);
          this.collect("persistent", path, recipients);
          this.collectRecursive(path, recipients);
          this.emit(out, recipients, Event.NodeDataChanged, path, zxid, change.acl);
          break;
        case "deleted":
          this.fireOneShot("data", path, recipients);
          this.fireOneShot("child", path, recipients);
          this.collect("persistent", path, recipients);
          this.collectRecursive(path, recipients);
          this.emit(out, recipients, Event.NodeDeleted, path, zxid, change.acl);
          break;
        case "childrenChanged":
          this.fireOneShot("child", path, recipients);
          this.collect("persistent", path, recipients);
          this.emit(out, recipients, Event.NodeChildrenChanged, path, zxid, change.acl);
          break;
      }
    }
    return out;
  }

  /**
   * A snapshot install replaced the tree at once (a replica that fell behind
   * the leader's compacted log): the entries in between were never applied
   * here, so nothing fired for their changes. Returns the events the
   * registered watches are owed, found by comparing the tree `before` and
   * `after` at every watched path (for persistent-recursive watches, every path
   * below too), in zxid order, one-shot watches removed as they fire — so a
   * session is told before it can read the new state. Each event carries the
   * zxid of the change where the after-tree records it (czxid, mzxid, pzxid);
   * a deletion's is unknown and carries `restoredZxid`, the snapshot's index.
   */
  triggerRestore(before: DataTree, after: DataTree, restoredZxid: number): WatchDelivery[] {
    const paths = new Set<string>();
    for (const kind of ["data", "child", "persistent"] as const) for (const path of this.byKind[kind].keys()) paths.add(path);
    if (this.byKind.recursive.size > 0) {
      for (const tree of [before, after]) {
        for (const path of tree.nodes.keys()) if (this.coveredRecursively(path)) paths.add(path);
      }
      for (const root of this.byKind.recursive.keys()) paths.add(root);
    }
    const changes: { change: TreeChange; zxid: number }[] = [];
    for (const path of paths) {
      const was = before.statOf(path);
      const now = after.statOf(path);
      if (was === undefined && now === undefined) continue;
      const aclBefore = before.nodes.get(path)?.acl.acl;
      const aclNow = after.nodes.get(path)?.acl.acl;
      if (was === undefined) changes.push({ change: { type: "created", path, acl: aclNow! }, zxid: now!.czxid });
      else if (now === undefined) changes.push({ change: { type: "deleted", path, acl: aclBefore! }, zxid: restoredZxid });
      else if (now.czxid !== was.czxid) {
        // Deleted and created again in between: both happened, the deletion first.
        changes.push({ change: { type: "deleted", path, acl: aclBefore! }, zxid: now.czxid });
        changes.push({ change: { type: "created", path, acl: aclNow! }, zxid: now.czxid });
      } else {
        if (now.mzxid !== was.mzxid) changes.push({ change: { type: "dataChanged", path, acl: aclNow! }, zxid: now.mzxid });
        if (now.pzxid !== was.pzxid || now.cversion !== was.cversion) {
          changes.push({ change: { type: "childrenChanged", path, acl: aclNow! }, zxid: now.pzxid !== was.pzxid ? now.pzxid : restoredZxid });
        }
      }
    }
    // Stable sort: the deletion of a re-created node stays before its creation.
    changes.sort((a, b) => a.zxid - b.zxid);
    const out: WatchDelivery[] = [];
    for (const { change, zxid } of changes) out.push(...this.trigger([change], zxid));
    return out;
  }

  /**
   * Re-registration after a reconnect (ZooKeeper's SetWatches): given what the
   * client watched and the last zxid it saw, returns the events it missed and
   * registers the watches that did not fire. `statOf` reads this node's tree.
   */
  resume(
    sessionId: number,
    relativeZxid: number,
    watches: { data?: readonly string[]; exists?: readonly string[]; child?: readonly string[]; persistent?: readonly string[]; recursive?: readonly string[] },
    statOf: (path: string) => Stat | undefined,
    currentZxid: number,
  ): WatchDelivery[] | LimitExceededError {
    const out: WatchDelivery[] = [];
    const event = (type: EventType, path: string): void => {
      out.push({ sessionId, event: { type, state: KeeperState.SyncConnected, path, zxid: currentZxid } });
    };
    for (const path of watches.data ?? []) {
      const stat = statOf(path);
      if (stat === undefined) event(Event.NodeDeleted, path);
      else if (stat.mzxid > relativeZxid) event(Event.NodeDataChanged, path);
      else if (this.add("data", sessionId, path) !== undefined) return new LimitExceededError(path);
    }
    for (const path of watches.exists ?? []) {
      if (statOf(path) !== undefined) event(Event.NodeCreated, path);
      else if (this.add("data", sessionId, path) !== undefined) return new LimitExceededError(path);
    }
    for (const path of watches.child ?? []) {
      const stat = statOf(path);
      if (stat === undefined) event(Event.NodeDeleted, path);
      else if (stat.pzxid > relativeZxid) event(Event.NodeChildrenChanged, path);
      else if (this.add("child", sessionId, path) !== undefined) return new LimitExceededError(path);
    }
    for (const path of watches.persistent ?? []) if (this.add("persistent", sessionId, path) !== undefined) return new LimitExceededError(path);
    for (const path of watches.recursive ?? []) if (this.add("recursive", sessionId, path) !== undefined) return new LimitExceededError(path);
    return out;
  }

  /**
   * Re-registration after a reconnect, persistent watches included. Drops
   * nothing the session already holds; registers `watches` (the client's set is
   * the truth) and returns the events the session missed after `since` (the
   * last zxid the client saw), in zxid order, each change at most once.
   *
   * With `history` (every applied change after `since`, oldest first) the
   * result is exact: the changes are replayed through a scratch registry
   * holding just this session's watches, so each watch fires exactly as it
   * would have live (one-shot ones at most once, deletions included) and the
   * one-shot watches that did not fire stay registered.
   *
   * Without it (the node's history no longer reaches back to `since`), one-shot
   * watches get ZooKeeper's SetWatches treatment from the tree's zxids, and
   * persistent watches get what the tree still shows: nodes created (czxid),
   * changed (mzxid) or with changed children (pzxid) after `since`. Deleted
   * nodes leave no trace, so `gap` is true whenever a persistent watch may
   * have missed something: the client must resynchronise what it derives
   * from those watches.
   */
  resumeSession(
    sessionId: number,
    since: number,
    watches: WatchSet,
    tree: DataTree,
    history: readonly HistoryEntry[] | undefined,
    currentZxid: number,
  ): ResumeOutcome {
    const out: WatchDelivery[] = [];
    let gap = false;
    if (history !== undefined) {
      const scratch = new WatchRegistry({ maxWatchesPerSession: Number.MAX_SAFE_INTEGER });
      scratch.registerSet(sessionId, watches);
      let previous = since;
      for (const entry of history) {
        if (entry.zxid <= since) continue;
        if (entry.zxid <= previous) throw new TreeInvariantViolation(`resume: history zxid ${entry.zxid} after ${previous}`);
        previous = entry.zxid;
        out.push(...scratch.trigger(entry.changes, entry.zxid));
      }
      // What did not fire stays: every persistent watch, and the one-shot ones nothing matched.
      for (const [kind, paths] of scratch.bySession.get(sessionId) ?? []) for (const path of paths) this.add(kind, sessionId, path);
      return { events: out, gap };
    }
    const seen = new Set<string>();
    const event = (type: EventType, path: string, zxid: number): void => {
      const key = `${type}\u0000${path}\u0000${zxid}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ sessionId, event: { type, state: KeeperState.SyncConnected, path, zxid } });
    };
    for (const path of watches.data) {
      const stat = tree.statOf(path);
      if (stat === undefined) event(Event.NodeDeleted, path, currentZxid);
      else if (stat.mzxid > since) event(Event.NodeDataChanged, path, stat.mzxid);
      else this.add("data", sessionId, path);
    }
    for (const path of watches.exists) {
      const stat = tree.statOf(path);
      if (stat !== undefined) event(Event.NodeCreated, path, stat.czxid);
      else this.add("data", sessionId, path);
    }
    for (const path of watches.child) {
      const stat = tree.statOf(path);
      if (stat === undefined) event(Event.NodeDeleted, path, currentZxid);
      else if (stat.pzxid > since) event(Event.NodeChildrenChanged, path, stat.pzxid);
      else this.add("child", sessionId, path);
    }
    const persistentChanges = (path: string, zxids: { czxid: number; mzxid: number; pzxid: number }, children: boolean): void => {
      if (zxids.czxid > since) event(Event.NodeCreated, path, zxids.czxid);
      if (zxids.mzxid > Math.max(since, zxids.czxid)) event(Event.NodeDataChanged, path, zxids.mzxid);
      // A new node's pzxid is its czxid: only a later one means its children changed.
      if (children && zxids.pzxid > Math.max(since, zxids.czxid)) event(Event.NodeChildrenChanged, path, zxids.pzxid);
    };
    for (const path of watches.persistent) {
      this.add("persistent", sessionId, path);
      const node = tree.nodes.get(path);
      if (node !== undefined) persistentChanges(path, node, true);
    }
    for (const root of watches.persistentRecursive) {
      this.add("recursive", sessionId, root);
      // Depth-first over the subtree as it is now; bounded by the tree's size.
      const stack = [root];
      for (let path = stack.pop(); path !== undefined; path = stack.pop()) {
        const node = tree.nodes.get(path);
        if (node === undefined) continue;
        persistentChanges(path, node, false);
        for (const name of node.children ?? []) stack.push(path === "/" ? `/${name}` : `${path}/${name}`);
      }
    }
    gap = since < currentZxid && (watches.persistent.length > 0 || watches.persistentRecursive.length > 0);
    // Found watch by watch, not in zxid order (a deletion carries currentZxid): the client drops an event older
    // than one it already got, so they must leave in zxid order. Stable, so same-zxid order is kept.
    out.sort((a, b) => a.event.zxid - b.event.zxid);
    return { events: out, gap };
  }

  // -------------------------------------------------------------- internals --

  /** Registers a client's whole watch set for one session (exists watches share the data registry). */
  private registerSet(sessionId: number, watches: WatchSet): void {
    for (const path of watches.data) this.add("data", sessionId, path);
    for (const path of watches.exists) this.add("data", sessionId, path);
    for (const path of watches.child) this.add("child", sessionId, path);
    for (const path of watches.persistent) this.add("persistent", sessionId, path);
    for (const path of watches.persistentRecursive) this.add("recursive", sessionId, path);
  }

  private add(kind: Kind, sessionId: number, path: string): LimitExceededError | undefined {
    if (this.has(sessionId, path, kind)) return undefined;
    if (this.count(sessionId) >= this.limits.maxWatchesPerSession) return new LimitExceededError(path);
    let watchers = this.byKind[kind].get(path);
    if (watchers === undefined) this.byKind[kind].set(path, (watchers = new Set()));
    watchers.add(sessionId);
    let kinds = this.bySession.get(sessionId);
    if (kinds === undefined) this.bySession.set(sessionId, (kinds = new Map()));
    let paths = kinds.get(kind);
    if (paths === undefined) kinds.set(kind, (paths = new Set()));
    paths.add(path);
    return undefined;
  }

  private remove(kind: Kind, sessionId: number, path: string): boolean {
    const watchers = this.byKind[kind].get(path);
    if (watchers === undefined || !watchers.delete(sessionId)) return false;
    if (watchers.size === 0) this.byKind[kind].delete(path);
    const kinds = this.bySession.get(sessionId);
    const paths = kinds?.get(kind);
    paths?.delete(path);
    if (paths?.size === 0) kinds?.delete(kind);
    if (kinds?.size === 0) this.bySession.delete(sessionId);
    return true;
  }

  private fireOneShot(kind: "data" | "child", path: string, recipients: Set<number>): void {
    const watchers = this.byKind[kind].get(path);
    if (watchers === undefined) return;
    for (const sessionId of [...watchers]) {
      recipients.add(sessionId);
      this.remove(kind, sessionId, path);
    }
  }

  private collect(kind: Kind, path: string, recipients: Set<number>): void {
    const watchers = this.byKind[kind].get(path);
    if (watchers !== undefined) for (const sessionId of watchers) recipients.add(sessionId);
  }

  private collectRecursive(path: string, recipients: Set<number>): void {
    if (this.byKind.recursive.size === 0) return;
    let current = path;
    for (;;) {
      this.collect("recursive", current, recipients);
      if (current === "/") return;
      current = parentPath(current);
    }
  }

  private coveredRecursively(path: string): boolean {
    let current = path;
    for (;;) {
      if (this.byKind.recursive.has(current)) return true;
      if (current === "/") return false;
      current = parentPath(current);
    }
  }

  private emit(out: WatchDelivery[], recipients: Set<number>, type: EventType, path: string, zxid: number, readAcl: readonly ACL[] | undefined): void {
    // Sorted so every node delivers in the same order (handy for tests and replay).
    for (const sessionId of [...recipients].sort((a, b) => a - b)) {
      const event: WatchEvent = readAcl === undefined ? { type, state: KeeperState.SyncConnected, path, zxid } : { type, state: KeeperState.SyncConnected, path, zxid, readAcl };
      out.push({ sessionId, event });
    }
  }
}
