/**
 * Configuration centre: caches of a znode, its children or a subtree, kept
 * current by one persistent-recursive watch. Every event triggers a re-read of
 * the node it names (push-pull, as ZooKeeper: the event says "look", the read
 * says what is there), so the cache never keeps a value older than the event.
 * Refreshes run one at a time in event order. After a reconnect, and on each
 * new session (expiry), the cache re-reads everything and emits the
 * differences, so it converges to the tree whatever events were missed.
 */
import type { Client, WatchedEvent } from "@corral/client";
import { AddWatchMode, EventType, type Stat } from "@corral/protocol";
import { Deadline, Listeners, isSessionGone, joinPath, sessionSource, tagOf, textDecoder, validateRecipePath, type RecipeEnv, type SessionSource, type WaitOptions } from "./common.js";
import { RecipeClosed, RecipeLimitExceeded } from "./errors.js";
import { liveRecipeEnv } from "./env-live.js";

export interface CachedNode {
  readonly path: string;
  readonly data: Uint8Array;
  readonly stat: Stat;
}

export type CacheEvent =
  | { readonly type: "added" | "updated" | "removed"; readonly path: string; readonly node: CachedNode }
  | { readonly type: "initialized" };

export interface TreeCacheOptions {
  /** Depth below the root to cache (0 = the root only; default unlimited). */
  readonly maxDepth?: number;
  /** Emit events for the root itself (default true). */
  readonly includeRoot?: boolean;
  /** Nodes cached at most; more fails the sync with RecipeLimitExceeded (default 100,000). */
  readonly maxNodes?: number;
}

export class TreeCache {
  private readonly sessions: SessionSource;
  private readonly nodes = new Map<string, CachedNode>();
  private readonly listeners: Listeners<CacheEvent>;
  private readonly errorListeners: Listeners<unknown>;
  private readonly readyListeners: Listeners<void>;
  private chain: Promise<void> = Promise.resolve();
  private client: Client | undefined;
  private initialized = false;
  private closed = false;
  private started = false;
  private readonly disposers: (() => void)[] = [];
  private readonly maxDepth: number;
  private readonly includeRoot: boolean;
  private readonly maxNodes: number;
  private readonly watcher = (event: WatchedEvent): void => this.onEvent(event);
  /** Full re-syncs done (initial + after reconnects / new sessions). */
  syncs = 0;

  constructor(client: Client | SessionSource, readonly root: string, private readonly env: RecipeEnv = liveRecipeEnv(), options: TreeCacheOptions = {}) {
    validateRecipePath("root", root);
    this.sessions = sessionSource(client);
    this.maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
    this.includeRoot = options.includeRoot ?? true;
    this.maxNodes = options.maxNodes ?? 100_000;
    this.listeners = new Listeners(env.logger);
    this.errorListeners = new Listeners(env.logger);
    this.readyListeners = new Listeners(env.logger);
  }

  on(event: "event", listener: (event: CacheEvent) => void): () => void;
  on(event: "error", listener: (error: unknown) => void): () => void;
  on(event: "event" | "error", listener: ((event: CacheEvent) => void) | ((error: unknown) => void)): () => void {
    if (event === "error") return this.errorListeners.add(listener as (error: unknown) => void);
    return this.listeners.add(listener as (event: CacheEvent) => void);
  }

  /** Start watching and load the initial state; resolves when initialized. */
  async start(): Promise<void> {
    if (this.closed) throw new RecipeClosed(`cache ${this.root}`);
    if (!this.started) {
      this.started = true;
      this.disposers.push(this.sessions.onNewClient((client) => void this.attach(client).catch((error: unknown) => this.errorListeners.emit(error))));
      await this.attach(this.sessions.current());
    }
    await this.ready();
  }

  /** Resolves once the initial sync is done. */
  async ready(options: WaitOptions = {}): Promise<void> {
    const deadline = new Deadline(this.env.clock, `initial sync of ${this.root}`, options, () => this.closed);
    while (!this.initialized) await deadline.sleep((wake) => this.readyListeners.add(wake));
  }

  isInitialized(): boolean {
    return this.initialized;
  }

  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** Cached child names of `path`, sorted. */
  childrenOf(path: string): string[] {
    const prefix = path === "/" ? "/" : `${path}/`;
    const out: string[] = [];
    for (const p of this.nodes.keys()) if (p.startsWith(prefix) && p !== path && !p.slice(prefix.length).includes("/")) out.push(p.slice(prefix.length));
    return out.sort();
  }

  /** Every cached node (the root included only if includeRoot). */
  all(): CachedNode[] {
    return [...this.nodes.values()].filter((n) => this.includeRoot || n.path !== this.root);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const dispose of this.disposers.splice(0)) dispose();
    this.readyListeners.emit();
    const client = this.client;
    if (client !== undefined && client.state === "connected") await client.removeWatches(this.root, 3, this.watcher).catch(() => undefined);
  }

  private depthOf(path: string): number {
    if (path === this.root) return 0;
    const rest = this.root === "/" ? path.slice(1) : path.slice(this.root.length + 1);
    return rest.split("/").length;
  }

  private inScope(path: string): boolean {
    return (path === this.root || path.startsWith(this.root === "/" ? "/" : `${this.root}/`)) && this.depthOf(path) <= this.maxDepth;
  }

  private async attach(client: Client): Promise<void> {
    if (this.closed) return;
    this.client = client;
    let wasDisconnected = false;
    this.disposers.push(
      client.on("state", (change) => {
        if (this.client !== client) return;
        if (change.state === "disconnected") wasDisconnected = true;
        // Every reconnect, not only those with change.watchGap: a refresh that failed while disconnected
        // (its event came in, its read did not) is repaired too, and a gap's lost deletions are found.
        if (change.state === "connected" && wasDisconnected) {
          wasDisconnected = false;
          this.enqueue(() => this.sync());
        }
      }),
    );
    await client.addWatch(this.root, AddWatchMode.PersistentRecursive, this.watcher);
    this.enqueue(() => this.sync());
    await this.chain;
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (error) {
        // Connection loss: the reconnect re-syncs; expiry: the new session re-syncs.
        if (tagOf(error) !== "ConnectionLoss" && !isSessionGone(error)) this.errorListeners.emit(error);
      }
    });
  }

  private onEvent(event: WatchedEvent): void {
    if (!this.inScope(event.path) || this.closed) return;
    if (event.type === EventType.NodeChildrenChanged || event.type === EventType.NodeCreated || event.type === EventType.NodeDeleted || event.type === EventType.NodeDataChanged) {
      this.enqueue(() => this.refresh(event.path));
      // A created/deleted node changes its parent's child list too (recursive watches send no NodeChildrenChanged).
    }
  }

  private async sync(): Promise<void> {
    await this.refresh(this.root, true);
    this.syncs++;
    if (!this.initialized) {
      this.initialized = true;
      this.listeners.emit({ type: "initialized" });
      this.readyListeners.emit();
    }
  }

  /** Re-read `path` (and, within depth, its children) and emit the differences. */
  private async refresh(path: string, full = false): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    let fresh: { data: Uint8Array; stat: Stat };
    try {
      fresh = await client.getData(path);
    } catch (error) {
      if (tagOf(error) !== "NoNode") throw error;
      this.removeSubtree(path);
      return;
    }
    const old = this.nodes.get(path);
    const node: CachedNode = { path, data: fresh.data, stat: fresh.stat };
    if (old === undefined || old.stat.czxid !== node.stat.czxid) {
      if (old !== undefined) this.removeSubtree(path);
      if (this.nodes.size >= this.maxNodes) throw new RecipeLimitExceeded("cache maxNodes", this.maxNodes);
      this.nodes.set(path, node);
      this.emit({ type: "added", path, node });
    } else if (old.stat.mzxid !== node.stat.mzxid || old.stat.version !== node.stat.version) {
      this.nodes.set(path, node);
      this.emit({ type: "updated", path, node });
    } else {
      this.nodes.set(path, node); // child counts may have moved
    }
    if (this.depthOf(path) >= this.maxDepth) return;
    let children: string[];
    try {
      children = (await client.getChildren(path)).children;
    } catch (error) {
      if (tagOf(error) !== "NoNode") throw error;
      this.removeSubtree(path);
      return;
    }
    const listed = new Set(children);
    for (const name of this.childrenOf(path)) if (!listed.has(name)) this.removeSubtree(joinPath(path, name));
    for (const name of children) {
      const childPath = joinPath(path, name);
      const cached = this.nodes.get(childPath);
      // Known children are refreshed by their own events; a full sync re-reads all (events may have been missed).
      if (cached === undefined || full) await this.refresh(childPath, full);
    }
  }

  private removeSubtree(path: string): void {
    const prefix = path === "/" ? "/" : `${path}/`;
    const doomed = [...this.nodes.keys()].filter((p) => p === path || p.startsWith(prefix)).sort((a, b) => b.length - a.length);
    for (const p of doomed) {
      const node = this.nodes.get(p)!;
      this.nodes.delete(p);
      this.emit({ type: "removed", path: p, node });
    }
  }

  private emit(event: CacheEvent): void {
    if (!this.includeRoot && event.type !== "initialized" && event.path === this.root) return;
    this.listeners.emit(event);
  }
}

/** A cache of one node (the configuration value). `current()` is undefined while it does not exist. */
export class NodeCache {
  private readonly cache: TreeCache;
  constructor(client: Client | SessionSource, readonly path: string, env: RecipeEnv = liveRecipeEnv()) {
    this.cache = new TreeCache(client, path, env, { maxDepth: 0 });
  }
  start(): Promise<void> {
    return this.cache.start();
  }
  ready(options?: WaitOptions): Promise<void> {
    return this.cache.ready(options);
  }
  current(): CachedNode | undefined {
    return this.cache.get(this.path);
  }
  on(event: "event", listener: (event: CacheEvent) => void): () => void;
  on(event: "error", listener: (error: unknown) => void): () => void;
  on(event: "event" | "error", listener: ((event: CacheEvent) => void) | ((error: unknown) => void)): () => void {
    return this.cache.on(event as "event", listener as (event: CacheEvent) => void);
  }
  close(): Promise<void> {
    return this.cache.close();
  }
}

/** A cache of the children of `path` (data and stat of each); events for children only. */
export class ChildrenCache {
  private readonly cache: TreeCache;
  constructor(client: Client | SessionSource, readonly path: string, env: RecipeEnv = liveRecipeEnv(), options: { readonly maxNodes?: number } = {}) {
    this.cache = new TreeCache(client, path, env, { maxDepth: 1, includeRoot: false, ...options });
  }
  start(): Promise<void> {
    return this.cache.start();
  }
  ready(options?: WaitOptions): Promise<void> {
    return this.cache.ready(options);
  }
  /** Child name -> node, in name order. */
  children(): Map<string, CachedNode> {
    const out = new Map<string, CachedNode>();
    for (const name of this.cache.childrenOf(this.path)) out.set(name, this.cache.get(joinPath(this.path, name))!);
    return out;
  }
  on(event: "event", listener: (event: CacheEvent) => void): () => void;
  on(event: "error", listener: (error: unknown) => void): () => void;
  on(event: "event" | "error", listener: ((event: CacheEvent) => void) | ((error: unknown) => void)): () => void {
    return this.cache.on(event as "event", listener as (event: CacheEvent) => void);
  }
  close(): Promise<void> {
    return this.cache.close();
  }
}

/** A configuration value as text (the node's data decoded as UTF-8), or undefined when absent. */
export interface ConfigValue {
  readonly text: string;
  readonly data: Uint8Array;
  readonly version: number;
  readonly mzxid: number;
}

/**
 * Subscribe to a configuration node: the listener gets the value at start and
 * every change after (undefined while the node does not exist), each read
 * after its event.
 */
export class ConfigSubscription {
  private readonly cache: NodeCache;
  private readonly listeners: Listeners<ConfigValue | undefined>;
  constructor(client: Client | SessionSource, readonly path: string, env: RecipeEnv = liveRecipeEnv()) {
    this.cache = new NodeCache(client, path, env);
    this.listeners = new Listeners(env.logger);
    // The initial sync emits both the node's "added" and "initialized", and a resync after a new
    // session re-reads an unchanged node: emit only when the value (its mzxid, or absence) changed.
    let lastEmitted: string | undefined;
    this.cache.on("event", (event) => {
      if (event.type !== "initialized" && event.path !== path) return;
      const value = this.current();
      const key = value === undefined ? "absent" : `mzxid:${value.mzxid}`;
      if (key === lastEmitted) return;
      lastEmitted = key;
      this.listeners.emit(value);
    });
  }
  /** Start; resolves with the value at start. */
  async start(): Promise<ConfigValue | undefined> {
    await this.cache.start();
    return this.current();
  }
  current(): ConfigValue | undefined {
    const node = this.cache.current();
    return node === undefined ? undefined : { text: textDecoder.decode(node.data), data: node.data, version: node.stat.version, mzxid: node.stat.mzxid };
  }
  /** Listen to the value at start (if subscribed before start) and every change after, each value once. */
  subscribe(listener: (value: ConfigValue | undefined) => void): () => void {
    return this.listeners.add(listener);
  }
  on(event: "error", listener: (error: unknown) => void): () => void {
    return this.cache.on(event, listener);
  }
  close(): Promise<void> {
    return this.cache.close();
  }
}
