/**
 * Service discovery (the DDNS scenario) and group membership, both on
 * ephemeral nodes: an instance/member is `<base>/<group>/<id>` holding JSON.
 * A registration is re-created after a reconnect if it vanished and on every
 * new session (after expiry, through a SessionSource). An ephemeral left by an
 * old session of ours (not yet expired) is replaced. Watchers use a
 * ChildrenCache, so lists are re-read after each event and after each resync.
 */
import type { Client } from "@corral/client";
import { CreateMode } from "@corral/protocol";
import { Listeners, ensurePath, isUnknownOutcome, joinPath, sessionSource, tagOf, textDecoder, validateRecipePath, validateSegment, type RecipeEnv, type SessionSource, type WaitOptions } from "./common.js";
import { ChildrenCache, type CacheEvent, type CachedNode } from "./cache.js";
import { CorruptRecipeData, InvalidRecipeArgument, RecipeClosed, RecipeLimitExceeded } from "./errors.js";
import { liveRecipeEnv } from "./env-live.js";

/** Keeps ephemeral nodes registered across reconnects and sessions. */
class EphemeralRegistrations {
  private readonly sessions: SessionSource;
  private readonly entries = new Map<string, string>();
  private readonly errors: Listeners<unknown>;
  private readonly disposers: (() => void)[] = [];
  private client: Client | undefined;
  private closed = false;
  /** Times a registration was (re)created. */
  creations = 0;

  constructor(client: Client | SessionSource, private readonly env: RecipeEnv, private readonly maxEntries: number) {
    this.sessions = sessionSource(client);
    this.errors = new Listeners(env.logger);
    this.disposers.push(this.sessions.onNewClient((c) => this.watchClient(c, true)));
    this.watchClient(this.sessions.current(), false);
  }

  onError(listener: (error: unknown) => void): () => void {
    return this.errors.add(listener);
  }

  private watchClient(client: Client, restore: boolean): void {
    this.client = client;
    let disconnected = false;
    this.disposers.push(
      client.on("state", (change) => {
        if (this.client !== client) return;
        if (change.state === "disconnected") disconnected = true;
        else if (change.state === "connected" && disconnected) {
          disconnected = false;
          void this.restoreAll(client);
        }
      }),
    );
    if (restore) void this.restoreAll(client);
  }

  private async restoreAll(client: Client): Promise<void> {
    for (const [path, data] of [...this.entries]) {
      if (this.closed || this.client !== client) return;
      try {
        await this.put(client, path, data);
      } catch (error) {
        this.errors.emit(error);
      }
    }
  }

  private async put(client: Client, path: string, data: string): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await client.create(path, data, { mode: CreateMode.Ephemeral });
        this.creations++;
        return;
      } catch (error) {
        const tag = tagOf(error);
        if (tag === "NoNode") {
          await ensurePath(client, path.slice(0, path.lastIndexOf("/")));
          continue;
        }
        if (tag === "NodeExists") {
          const stat = await client.exists(path);
          if (stat === null) continue;
          if (stat.ephemeralOwner === client.sessionId) {
            await client.setData(path, data, -1);
            return;
          }
          // Left by an older session of ours (or a duplicate id): replace it.
          try {
            await client.delete(path, stat.version);
          } catch (deleteError) {
            if (tagOf(deleteError) !== "NoNode" && tagOf(deleteError) !== "BadVersion") throw deleteError;
          }
          continue;
        }
        if (isUnknownOutcome(error)) continue; // a retry sees NodeExists owned by us
        throw error;
      }
    }
    throw new InvalidRecipeArgument(path, "could not register (another session keeps re-creating it)");
  }

  async add(path: string, data: string): Promise<void> {
    if (this.closed) throw new RecipeClosed(`registration ${path}`);
    if (!this.entries.has(path) && this.entries.size >= this.maxEntries) throw new RecipeLimitExceeded("registrations", this.maxEntries);
    this.entries.set(path, data);
    await this.put(this.sessions.current(), path, data);
  }

  async remove(path: string): Promise<void> {
    this.entries.delete(path);
    const client = this.sessions.current();
    try {
      await client.delete(path);
    } catch (error) {
      if (tagOf(error) !== "NoNode") throw error;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const dispose of this.disposers.splice(0)) dispose();
    const paths = [...this.entries.keys()];
    this.entries.clear();
    const client = this.sessions.current();
    if (client.state !== "connected") return;
    for (const path of paths) await client.delete(path).catch(() => undefined);
  }
}

export interface ServiceInstance {
  readonly name: string;
  readonly id: string;
  readonly address: string;
  readonly port?: number;
  readonly payload?: unknown;
}

export const DEFAULT_SERVICES_PATH = "/services";

function parseInstance(node: CachedNode): ServiceInstance {
  let value: unknown;
  try {
    value = JSON.parse(textDecoder.decode(node.data));
  } catch {
    throw new CorruptRecipeData(node.path, "not JSON");
  }
  const v = value as Partial<ServiceInstance> | null;
  if (v === null || typeof v !== "object" || typeof v.name !== "string" || typeof v.id !== "string" || typeof v.address !== "string") {
    throw new CorruptRecipeData(node.path, "not a service instance");
  }
  return v as ServiceInstance;
}

export class ServiceRegistry {
  private readonly registrations: EphemeralRegistrations;
  private readonly basePath: string;
  constructor(client: Client | SessionSource, env: RecipeEnv = liveRecipeEnv(), options: { readonly basePath?: string; readonly maxInstances?: number } = {}) {
    this.basePath = options.basePath ?? DEFAULT_SERVICES_PATH;
    validateRecipePath("basePath", this.basePath);
    this.registrations = new EphemeralRegistrations(client, env, options.maxInstances ?? 1_000);
  }
  /** Register (or update) an instance; kept registered until unregister/close. */
  register(instance: ServiceInstance): Promise<void> {
    validateSegment("name", instance.name);
    validateSegment("id", instance.id);
    if (typeof instance.address !== "string" || instance.address.length === 0) throw new InvalidRecipeArgument("address", "must be a non-empty string");
    return this.registrations.add(joinPath(joinPath(this.basePath, instance.name), instance.id), JSON.stringify(instance));
  }
  unregister(name: string, id: string): Promise<void> {
    return this.registrations.remove(joinPath(joinPath(this.basePath, name), id));
  }
  on(_event: "error", listener: (error: unknown) => void): () => void {
    return this.registrations.onError(listener);
  }
  get creations(): number {
    return this.registrations.creations;
  }
  close(): Promise<void> {
    return this.registrations.close();
  }
}

/** The live instances of one service. */
export class ServiceDiscovery {
  private readonly cache: ChildrenCache;
  private readonly changes: Listeners<readonly ServiceInstance[]>;
  private readonly errors: Listeners<unknown>;
  constructor(client: Client | SessionSource, readonly serviceName: string, env: RecipeEnv = liveRecipeEnv(), options: { readonly basePath?: string } = {}) {
    validateSegment("serviceName", serviceName);
    const basePath = options.basePath ?? DEFAULT_SERVICES_PATH;
    this.cache = new ChildrenCache(client, joinPath(basePath, serviceName), env);
    this.changes = new Listeners(env.logger);
    this.errors = new Listeners(env.logger);
    this.cache.on("event", (event: CacheEvent) => {
      if (event.type !== "initialized") this.changes.emit(this.instances());
    });
    this.cache.on("error", (error) => this.errors.emit(error));
  }
  start(): Promise<void> {
    return this.cache.start();
  }
  ready(options?: WaitOptions): Promise<void> {
    return this.cache.ready(options);
  }
  /** Current instances, in id order (malformed nodes are skipped and reported as errors). */
  instances(): ServiceInstance[] {
    const out: ServiceInstance[] = [];
    for (const node of this.cache.children().values()) {
      try {
        out.push(parseInstance(node));
      } catch (error) {
        this.errors.emit(error);
      }
    }
    return out;
  }
  on(event: "change", listener: (instances: readonly ServiceInstance[]) => void): () => void;
  on(event: "error", listener: (error: unknown) => void): () => void;
  on(event: "change" | "error", listener: ((instances: readonly ServiceInstance[]) => void) | ((error: unknown) => void)): () => void {
    if (event === "error") return this.errors.add(listener as (error: unknown) => void);
    return this.changes.add(listener as (instances: readonly ServiceInstance[]) => void);
  }
  close(): Promise<void> {
    return this.cache.close();
  }
}

export type ProviderStrategy = "random" | "round-robin" | "sticky";

/** Picks an instance of a discovered service; follows the discovery as instances come and go. */
export class ServiceProvider {
  private next = 0;
  private stickyId: string | undefined;
  constructor(private readonly discovery: ServiceDiscovery, readonly strategy: ProviderStrategy, private readonly env: RecipeEnv = liveRecipeEnv()) {
    if (strategy !== "random" && strategy !== "round-robin" && strategy !== "sticky") throw new InvalidRecipeArgument("strategy", `unknown strategy ${String(strategy)}`);
  }
  /** An instance, or undefined when none is registered. */
  getInstance(): ServiceInstance | undefined {
    const instances = this.discovery.instances();
    if (instances.length === 0) return undefined;
    switch (this.strategy) {
      case "random":
        return instances[this.env.random.int(instances.length)];
      case "round-robin": {
        const instance = instances[this.next % instances.length];
        this.next = (this.next + 1) % 1_000_000_007;
        return instance;
      }
      case "sticky": {
        const current = instances.find((i) => i.id === this.stickyId);
        if (current !== undefined) return current;
        const chosen = instances[this.env.random.int(instances.length)]!;
        this.stickyId = chosen.id;
        return chosen;
      }
    }
  }
}

export interface GroupMemberInfo {
  readonly id: string;
  readonly data: Uint8Array;
}

/** This process as a member of a group: an ephemeral `<group>/<id>` kept across sessions. */
export class GroupMember {
  private readonly registrations: EphemeralRegistrations;
  private readonly path: string;
  constructor(client: Client | SessionSource, readonly groupPath: string, readonly memberId: string, env: RecipeEnv = liveRecipeEnv(), private readonly payload: string = "") {
    validateRecipePath("groupPath", groupPath);
    validateSegment("memberId", memberId);
    this.path = joinPath(groupPath, memberId);
    this.registrations = new EphemeralRegistrations(client, env, 1);
  }
  join(): Promise<void> {
    return this.registrations.add(this.path, this.payload);
  }
  leave(): Promise<void> {
    return this.registrations.close();
  }
  on(_event: "error", listener: (error: unknown) => void): () => void {
    return this.registrations.onError(listener);
  }
}

/** The live member list of a group with join/leave events. */
export class GroupMembership {
  private readonly cache: ChildrenCache;
  private readonly joins: Listeners<GroupMemberInfo>;
  private readonly leaves: Listeners<GroupMemberInfo>;
  constructor(client: Client | SessionSource, readonly groupPath: string, env: RecipeEnv = liveRecipeEnv()) {
    this.cache = new ChildrenCache(client, groupPath, env);
    this.joins = new Listeners(env.logger);
    this.leaves = new Listeners(env.logger);
    this.cache.on("event", (event) => {
      if (event.type === "added") this.joins.emit({ id: event.path.slice(event.path.lastIndexOf("/") + 1), data: event.node.data });
      else if (event.type === "removed") this.leaves.emit({ id: event.path.slice(event.path.lastIndexOf("/") + 1), data: event.node.data });
    });
  }
  start(): Promise<void> {
    return this.cache.start();
  }
  ready(options?: WaitOptions): Promise<void> {
    return this.cache.ready(options);
  }
  members(): string[] {
    return [...this.cache.children().keys()];
  }
  on(event: "join" | "leave", listener: (member: GroupMemberInfo) => void): () => void {
    return (event === "join" ? this.joins : this.leaves).add(listener);
  }
  close(): Promise<void> {
    return this.cache.close();
  }
}
