/**
 * An in-memory ensemble and Client with ZooKeeper semantics, for fast recipe
 * tests: sequential nodes (per-parent counter = cversion), ephemerals owned by
 * sessions, one-shot data/exists/children watches, persistent and
 * persistent-recursive watches, multi (all or nothing), session expiry, plus
 * faults: a lost reply (the write applies, the caller sees ConnectionLoss),
 * disconnect/reconnect (events held back until reconnect), expiry.
 * Events are delivered on microtasks; the ctime comes from the given clock.
 */
import type { Clock } from "@corral/actors";
import type { Client, CreateOptions, CreateResponse, EventStream, MultiBuilder, MultiResult, StateChange, WatchedEvent, Watcher, WatchOptions, ConnectionState } from "@corral/client";
import {
  AddWatchMode,
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  CreateMode,
  EventType,
  NoChildrenForEphemeralsError,
  NoNodeError,
  NodeExistsError,
  NotEmptyError,
  SessionExpiredError,
  UnimplementedError,
  type ACL,
  type CorralError,
  type MultiOpResult,
  type Stat,
  type WatcherType,
} from "@corral/protocol";

interface FakeNode {
  data: Uint8Array;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  ephemeralOwner: number;
  children: Set<string>;
}

function statOf(node: FakeNode): Stat {
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: node.cversion,
    aversion: 0,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren: node.children.size,
  };
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function cloneNodes(nodes: Map<string, FakeNode>): Map<string, FakeNode> {
  const out = new Map<string, FakeNode>();
  for (const [path, node] of nodes) out.set(path, { ...node, children: new Set(node.children) });
  return out;
}

type Change = { readonly type: EventType; readonly path: string };

type Op =
  | { kind: "create"; path: string; data: Uint8Array; mode: CreateMode }
  | { kind: "delete"; path: string; version: number }
  | { kind: "setData"; path: string; data: Uint8Array; version: number }
  | { kind: "check"; path: string; version: number };

const encoder = new TextEncoder();
const bytes = (data: Uint8Array | string | undefined): Uint8Array => (data === undefined ? new Uint8Array(0) : typeof data === "string" ? encoder.encode(data) : data);

export class FakeEnsemble {
  nodes = new Map<string, FakeNode>();
  zxid = 0;
  private nextSession = 1;
  readonly clients = new Set<FakeClient>();
  /** Total watch events delivered to any watcher (one-shot or persistent). */
  watchEventsDelivered = 0;

  constructor(readonly clock: Clock) {
    this.nodes.set("/", { data: new Uint8Array(0), czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, ephemeralOwner: 0, children: new Set() });
  }

  connect(): FakeClient {
    const client = new FakeClient(this, this.nextSession++);
    this.clients.add(client);
    return client;
  }

  /** Apply write ops atomically; returns results and the changes to fire. Throws the failing op's error (with opIndex). */
  apply(ops: readonly Op[], session: number): MultiOpResult[] {
    const snapshot = cloneNodes(this.nodes);
    const zxidBefore = this.zxid;
    const zxid = ++this.zxid;
    const changes: Change[] = [];
    const results: MultiOpResult[] = [];
    try {
      ops.forEach((op, index) => {
        try {
          results.push(this.applyOne(op, session, zxid, changes));
        } catch (error) {
          (error as { opIndex?: number }).opIndex = index;
          throw error;
        }
      });
    } catch (error) {
      this.nodes = snapshot;
      this.zxid = zxidBefore;
      throw error;
    }
    for (const change of changes) this.fire(change, zxid);
    return results;
  }

  private applyOne(op: Op, session: number, zxid: number, changes: Change[]): MultiOpResult {
    const now = this.clock.wallNow();
    switch (op.kind) {
      case "create": {
        const parentPath = parentOf(op.path);
        const parent = this.nodes.get(parentPath);
        if (parent === undefined) throw new NoNodeError(op.path);
        if (parent.ephemeralOwner !== 0) throw new NoChildrenForEphemeralsError(op.path);
        let path = op.path;
        if (op.mode === CreateMode.PersistentSequential || op.mode === CreateMode.EphemeralSequential) path += String(parent.cversion).padStart(10, "0");
        if (this.nodes.has(path)) throw new NodeExistsError(path);
        const ephemeral = op.mode === CreateMode.Ephemeral || op.mode === CreateMode.EphemeralSequential;
        const node: FakeNode = { data: op.data, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: now, mtime: now, version: 0, cversion: 0, ephemeralOwner: ephemeral ? session : 0, children: new Set() };
        this.nodes.set(path, node);
        parent.children.add(path.slice(path.lastIndexOf("/") + 1));
        parent.cversion++;
        parent.pzxid = zxid;
        changes.push({ type: EventType.NodeCreated, path });
        return { type: "create", path, stat: statOf(node) };
      }
      case "delete": {
        const node = this.nodes.get(op.path);
        if (node === undefined) throw new NoNodeError(op.path);
        if (op.version !== -1 && op.version !== node.version) throw new BadVersionError(op.path);
        if (node.children.size > 0) throw new NotEmptyError(op.path);
        this.nodes.delete(op.path);
        const parent = this.nodes.get(parentOf(op.path))!;
        parent.children.delete(op.path.slice(op.path.lastIndexOf("/") + 1));
        parent.pzxid = zxid;
        changes.push({ type: EventType.NodeDeleted, path: op.path });
        return { type: "delete" };
      }
      case "setData": {
        const node = this.nodes.get(op.path);
        if (node === undefined) throw new NoNodeError(op.path);
        if (op.version !== -1 && op.version !== node.version) throw new BadVersionError(op.path);
        node.data = op.data;
        node.version++;
        node.mzxid = zxid;
        node.mtime = now;
        changes.push({ type: EventType.NodeDataChanged, path: op.path });
        return { type: "setData", stat: statOf(node) };
      }
      case "check": {
        const node = this.nodes.get(op.path);
        if (node === undefined) throw new NoNodeError(op.path);
        if (op.version !== -1 && op.version !== node.version) throw new BadVersionError(op.path);
        return { type: "check" };
      }
    }
  }

  private fire(change: Change, zxid: number): void {
    const parent = parentOf(change.path);
    for (const client of this.clients) {
      if (client.state === "expired" || client.state === "closed") continue;
      // One-shot data/exists watches on the path itself.
      if (change.type !== EventType.NodeChildrenChanged) client.triggerOneShot("data", change.path, { type: change.type, path: change.path, zxid });
      if (change.type === EventType.NodeDeleted) client.triggerOneShot("children", change.path, { type: EventType.NodeDeleted, path: change.path, zxid });
      if (change.type === EventType.NodeCreated || change.type === EventType.NodeDeleted) {
        client.triggerOneShot("children", parent, { type: EventType.NodeChildrenChanged, path: parent, zxid });
      }
      client.triggerPersistent(change, zxid);
    }
  }

  expire(client: FakeClient): void {
    const session = client.sessionIdValue;
    const doomed = [...this.nodes.entries()].filter(([, n]) => n.ephemeralOwner === session).map(([p]) => p);
    client.markExpired();
    for (const path of doomed.sort((a, b) => b.length - a.length)) {
      try {
        this.apply([{ kind: "delete", path, version: -1 }], 0);
      } catch {
        // already gone
      }
    }
  }

  closeSession(client: FakeClient): void {
    this.expire(client);
    this.clients.delete(client);
  }
}

interface OneShot {
  readonly path: string;
  readonly watcher: Watcher;
}

interface Persistent {
  readonly path: string;
  readonly mode: AddWatchMode;
  readonly watcher: Watcher;
}

class Stream<T> implements EventStream<T> {
  private readonly buffer: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | undefined;
  private closed = false;
  constructor(private readonly onClose: () => void = () => undefined) {}
  push(value: T): void {
    if (this.closed) return;
    if (this.waiting !== undefined) {
      const w = this.waiting;
      this.waiting = undefined;
      w({ value, done: false });
    } else this.buffer.push(value);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
  }
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const value = this.buffer.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

export class FakeClient implements Client {
  private currentState: ConnectionState = "connected";
  private readonly dataWatches: OneShot[] = [];
  private readonly childWatches: OneShot[] = [];
  private readonly persistent: Persistent[] = [];
  private readonly stateListeners = new Set<(change: StateChange) => void>();
  private heldBack: (() => void)[] = [];
  private readonly lostReplies: ((op: string, path: string) => boolean)[] = [];
  /** Watch events delivered to this client's watchers. */
  watchEventsDelivered = 0;
  /** Calls made (reads and writes). */
  calls = 0;

  constructor(private readonly ensemble: FakeEnsemble, readonly sessionIdValue: number) {}

  get sessionId(): number | null {
    return this.currentState === "expired" || this.currentState === "closed" ? null : this.sessionIdValue;
  }
  get state(): ConnectionState {
    return this.currentState;
  }

  // ------------------------------------------------------------ faults --

  /** The next write matching `predicate` applies, but its caller gets ConnectionLoss. */
  loseNextReply(predicate: (op: string, path: string) => boolean = () => true): void {
    this.lostReplies.push(predicate);
  }
  disconnect(): void {
    if (this.currentState !== "connected") return;
    this.setState("disconnected");
  }
  reconnect(): void {
    if (this.currentState !== "disconnected") return;
    this.setState("connected");
    const held = this.heldBack;
    this.heldBack = [];
    for (const deliver of held) deliver();
  }
  expire(): void {
    this.ensemble.expire(this);
  }
  markExpired(): void {
    this.dataWatches.length = 0;
    this.childWatches.length = 0;
    this.persistent.length = 0;
    this.heldBack = [];
    this.setState("expired");
  }

  private setState(state: ConnectionState): void {
    this.currentState = state;
    const change: StateChange = { state, sessionId: this.sessionIdValue };
    for (const listener of [...this.stateListeners]) queueMicrotask(() => listener(change));
  }

  // ---------------------------------------------------------- delivery --

  private deliver(watcher: Watcher, event: WatchedEvent): void {
    const run = (): void => {
      if (this.currentState === "expired" || this.currentState === "closed") return;
      this.watchEventsDelivered++;
      this.ensemble.watchEventsDelivered++;
      watcher(event);
    };
    if (this.currentState === "disconnected") this.heldBack.push(run);
    else queueMicrotask(run);
  }

  triggerOneShot(kind: "data" | "children", path: string, event: WatchedEvent): void {
    const list = kind === "data" ? this.dataWatches : this.childWatches;
    const fired = list.filter((w) => w.path === path);
    if (fired.length === 0) return;
    const remaining = list.filter((w) => w.path !== path);
    list.length = 0;
    list.push(...remaining);
    // ZooKeeper delivers one event per distinct watcher function.
    const seen = new Set<Watcher>();
    for (const w of fired) {
      if (seen.has(w.watcher)) continue;
      seen.add(w.watcher);
      this.deliver(w.watcher, event);
    }
  }

  triggerPersistent(change: Change, zxid: number): void {
    for (const w of this.persistent) {
      if (w.mode === AddWatchMode.PersistentRecursive) {
        if (change.path === w.path || change.path.startsWith(w.path === "/" ? "/" : `${w.path}/`)) this.deliver(w.watcher, { type: change.type, path: change.path, zxid });
      } else {
        if (change.path === w.path) this.deliver(w.watcher, { type: change.type, path: change.path, zxid });
        if (parentOf(change.path) === w.path && change.path !== "/" && (change.type === EventType.NodeCreated || change.type === EventType.NodeDeleted)) {
          this.deliver(w.watcher, { type: EventType.NodeChildrenChanged, path: w.path, zxid });
        }
      }
    }
  }

  // ------------------------------------------------------------- calls --

  private async gate(): Promise<void> {
    this.calls++;
    await Promise.resolve();
    if (this.currentState === "expired") throw new SessionExpiredError();
    if (this.currentState === "closed") throw new SessionExpiredError();
    if (this.currentState === "disconnected") throw new ConnectionLossError();
  }

  private async write(ops: Op[], label: string): Promise<MultiOpResult[]> {
    await this.gate();
    const results = this.ensemble.apply(ops, this.sessionIdValue);
    const path = ops[0]?.path ?? "/";
    const lost = this.lostReplies.findIndex((p) => p(label, path));
    if (lost >= 0) {
      this.lostReplies.splice(lost, 1);
      throw new ConnectionLossError(path);
    }
    return results;
  }

  async create(path: string, data?: Uint8Array | string, options: CreateOptions = {}): Promise<CreateResponse> {
    const [result] = await this.write([{ kind: "create", path, data: bytes(data), mode: options.mode ?? CreateMode.Persistent }], "create");
    if (result?.type !== "create") throw new BadArgumentsError(path);
    return { path: result.path, stat: result.stat };
  }

  async getData(path: string, options: WatchOptions = {}): Promise<{ data: Uint8Array; stat: Stat }> {
    await this.gate();
    const node = this.ensemble.nodes.get(path);
    if (node === undefined) throw new NoNodeError(path);
    if (options.watch !== undefined) this.dataWatches.push({ path, watcher: options.watch });
    return { data: node.data, stat: statOf(node) };
  }

  async exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    await this.gate();
    const node = this.ensemble.nodes.get(path);
    if (options.watch !== undefined) this.dataWatches.push({ path, watcher: options.watch });
    return node === undefined ? null : statOf(node);
  }

  async getChildren(path: string, options: WatchOptions = {}): Promise<{ children: string[]; stat: Stat }> {
    await this.gate();
    const node = this.ensemble.nodes.get(path);
    if (node === undefined) throw new NoNodeError(path);
    if (options.watch !== undefined) this.childWatches.push({ path, watcher: options.watch });
    return { children: [...node.children].sort(), stat: statOf(node) };
  }

  async getAllChildrenNumber(path: string): Promise<number> {
    await this.gate();
    let count = 0;
    for (const p of this.ensemble.nodes.keys()) if (p !== path && p.startsWith(`${path}/`)) count++;
    return count;
  }

  async getEphemerals(prefix = "/"): Promise<string[]> {
    await this.gate();
    return [...this.ensemble.nodes.entries()].filter(([p, n]) => n.ephemeralOwner === this.sessionIdValue && p.startsWith(prefix)).map(([p]) => p);
  }

  async setData(path: string, data: Uint8Array | string, version = -1): Promise<Stat> {
    const [result] = await this.write([{ kind: "setData", path, data: bytes(data), version }], "setData");
    if (result?.type !== "setData") throw new BadArgumentsError(path);
    return result.stat;
  }

  async delete(path: string, version = -1): Promise<void> {
    await this.write([{ kind: "delete", path, version }], "delete");
  }

  multi(): MultiBuilder {
    const ops: Op[] = [];
    const builder: MultiBuilder = {
      check: (path, version) => (ops.push({ kind: "check", path, version }), builder),
      create: (path, data, options = {}) => (ops.push({ kind: "create", path, data: bytes(data), mode: options.mode ?? CreateMode.Persistent }), builder),
      delete: (path, version = -1) => (ops.push({ kind: "delete", path, version }), builder),
      setData: (path, data, version = -1) => (ops.push({ kind: "setData", path, data: bytes(data), version }), builder),
      commit: async (): Promise<MultiResult> => this.write(ops, "multi"),
    };
    return builder;
  }

  async sync(): Promise<void> {
    await this.gate();
  }
  getACL(): Promise<{ acl: ACL[]; stat: Stat }> {
    return Promise.reject(new UnimplementedError());
  }
  setACL(): Promise<Stat> {
    return Promise.reject(new UnimplementedError());
  }
  addAuth(): Promise<void> {
    return Promise.reject(new UnimplementedError());
  }

  async addWatch(path: string, mode: AddWatchMode, watcher: Watcher): Promise<void> {
    await this.gate();
    this.persistent.push({ path, mode, watcher });
  }

  async watchStream(path: string, mode: AddWatchMode): Promise<EventStream<WatchedEvent>> {
    const stream: Stream<WatchedEvent> = new Stream(() => void this.removeWatches(path, 3 as WatcherType, watcher).catch(() => undefined));
    const watcher: Watcher = (event) => stream.push(event);
    await this.addWatch(path, mode, watcher);
    return stream;
  }

  async removeWatches(path: string, _type: WatcherType, watcher?: Watcher): Promise<void> {
    await this.gate();
    const keep = (w: { path: string; watcher: Watcher }): boolean => w.path !== path || (watcher !== undefined && w.watcher !== watcher);
    for (const list of [this.dataWatches, this.childWatches, this.persistent] as { path: string; watcher: Watcher }[][]) {
      const kept = list.filter(keep);
      list.length = 0;
      list.push(...kept);
    }
  }

  on(_event: "state", listener: (change: StateChange) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  states(): EventStream<StateChange> {
    const stream: Stream<StateChange> = new Stream(() => unsubscribe());
    const unsubscribe = this.on("state", (c) => stream.push(c));
    return stream;
  }

  async close(): Promise<void> {
    if (this.currentState === "closed" || this.currentState === "expired") return;
    this.ensemble.closeSession(this);
    this.currentState = "closed";
    const change: StateChange = { state: "closed" };
    for (const listener of [...this.stateListeners]) queueMicrotask(() => listener(change));
  }
}

export type { CorralError };
