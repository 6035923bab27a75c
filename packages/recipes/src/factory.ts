/**
 * `recipes(client)`: every recipe reachable from a client, the way kazoo
 * offers `client.Lock(path)` and Curator its recipe classes, with the live
 * environment filled in. Tests and simulations pass `{ env }` (a simulated
 * clock and a seeded random) and get the same recipes, deterministic.
 *
 * ```ts
 * const r = recipes(client);
 * const hold = await r.lock("/locks/orders").acquire();
 * ```
 */
import type { Client } from "@corral/client";
import { Barrier, DoubleBarrier } from "./barrier.js";
import { ChildrenCache, ConfigSubscription, NodeCache, TreeCache, type TreeCacheOptions } from "./cache.js";
import type { RecipeEnv, SessionSource } from "./common.js";
import { AtomicCounter, type AtomicCounterOptions } from "./counter.js";
import { GroupMember, GroupMembership, ServiceDiscovery, ServiceRegistry } from "./discovery.js";
import { liveRecipeEnv } from "./env-live.js";
import { IdAllocator, type IdAllocatorOptions } from "./ids.js";
import { LeaderLatch, LeaderSelector, type LeaderLatchOptions, type LeaderSelectorOptions, type LeaderSelectorTerm } from "./leader.js";
import { Mutex, ReadWriteLock, Semaphore } from "./locks.js";
import { DistributedQueue, PriorityQueue, type QueueOptions } from "./queue.js";
import { ThreePhaseCommit, TransactionParticipant, TwoPhaseCommit, type CoordinatorOptions, type ParticipantOptions } from "./transaction.js";

export interface RecipesOptions {
  /** Clock, random source and logger; default: the live clock and an OS-seeded random (a fresh one per recipe). */
  readonly env?: RecipeEnv;
}

export interface Recipes {
  /** Curator InterProcessMutex, kazoo Lock. */
  lock(path: string): Mutex;
  /** Curator InterProcessReadWriteLock, kazoo ReadLock/WriteLock. */
  readWriteLock(path: string): ReadWriteLock;
  /** Curator InterProcessSemaphoreV2, kazoo Semaphore. */
  semaphore(path: string, maxLeases: number): Semaphore;
  /** Curator LeaderLatch, kazoo Election (as a latch). */
  leaderLatch(path: string, options?: LeaderLatchOptions): LeaderLatch;
  /** Curator LeaderSelector, kazoo Election.run. */
  leaderSelector(path: string, onLeadership: (term: LeaderSelectorTerm) => Promise<void>, options?: LeaderSelectorOptions): LeaderSelector;
  /** Curator DistributedQueue, kazoo LockingQueue. */
  queue(path: string, options?: QueueOptions): DistributedQueue;
  /** Curator DistributedPriorityQueue, kazoo Queue with priorities. */
  priorityQueue(path: string, options?: QueueOptions): PriorityQueue;
  /** Curator DistributedBarrier, kazoo Barrier. */
  barrier(path: string): Barrier;
  /** Curator DistributedDoubleBarrier, kazoo DoubleBarrier. */
  doubleBarrier(path: string, memberCount: number, memberId: string): DoubleBarrier;
  /** Curator DistributedAtomicLong / SharedCount, kazoo Counter. */
  counter(path: string, options?: AtomicCounterOptions): AtomicCounter;
  /** Curator CuratorCache (TreeCache), kazoo TreeCache. */
  treeCache(path: string, options?: TreeCacheOptions): TreeCache;
  /** Curator NodeCache, kazoo DataWatch. */
  nodeCache(path: string): NodeCache;
  /** Curator PathChildrenCache, kazoo ChildrenWatch. */
  childrenCache(path: string, options?: { readonly maxNodes?: number }): ChildrenCache;
  /** A configuration value kept current (Curator NodeCache + parsing; kazoo DataWatch). */
  config(path: string): ConfigSubscription;
  /** Curator ServiceDiscovery (registering side). */
  serviceRegistry(options?: { readonly basePath?: string; readonly maxInstances?: number }): ServiceRegistry;
  /** Curator ServiceDiscovery / ServiceCache (looking-up side). */
  serviceDiscovery(serviceName: string, options?: { readonly basePath?: string }): ServiceDiscovery;
  /** Curator GroupMember, kazoo Party (joining). */
  groupMember(groupPath: string, memberId: string, payload?: string): GroupMember;
  /** kazoo Party (listing), Curator GroupMember.getCurrentMembers. */
  groupMembership(groupPath: string): GroupMembership;
  /** Unique ids from sequential nodes. */
  idAllocator(options?: IdAllocatorOptions): IdAllocator;
  twoPhaseCommit(options?: CoordinatorOptions): TwoPhaseCommit;
  threePhaseCommit(options?: CoordinatorOptions): ThreePhaseCommit;
  participant(participantId: string, options?: ParticipantOptions): TransactionParticipant;
}

export function recipes(client: Client | SessionSource, options: RecipesOptions = {}): Recipes {
  const env = (): RecipeEnv => options.env ?? liveRecipeEnv();
  return {
    lock: (path) => new Mutex(client, path, env()),
    readWriteLock: (path) => new ReadWriteLock(client, path, env()),
    semaphore: (path, maxLeases) => new Semaphore(client, path, maxLeases, env()),
    leaderLatch: (path, latchOptions) => new LeaderLatch(client, path, env(), latchOptions),
    leaderSelector: (path, onLeadership, selectorOptions) => new LeaderSelector(client, path, env(), onLeadership, selectorOptions),
    queue: (path, queueOptions) => new DistributedQueue(client, path, env(), queueOptions),
    priorityQueue: (path, queueOptions) => new PriorityQueue(client, path, env(), queueOptions),
    barrier: (path) => new Barrier(client, path, env()),
    doubleBarrier: (path, memberCount, memberId) => new DoubleBarrier(client, path, memberCount, memberId, env()),
    counter: (path, counterOptions) => new AtomicCounter(client, path, counterOptions),
    treeCache: (path, cacheOptions) => new TreeCache(client, path, env(), cacheOptions),
    nodeCache: (path) => new NodeCache(client, path, env()),
    childrenCache: (path, cacheOptions) => new ChildrenCache(client, path, env(), cacheOptions),
    config: (path) => new ConfigSubscription(client, path, env()),
    serviceRegistry: (registryOptions) => new ServiceRegistry(client, env(), registryOptions),
    serviceDiscovery: (serviceName, discoveryOptions) => new ServiceDiscovery(client, serviceName, env(), discoveryOptions),
    groupMember: (groupPath, memberId, payload) => new GroupMember(client, groupPath, memberId, env(), payload),
    groupMembership: (groupPath) => new GroupMembership(client, groupPath, env()),
    idAllocator: (idOptions) => new IdAllocator(client, env(), idOptions),
    twoPhaseCommit: (coordinatorOptions) => new TwoPhaseCommit(client, env(), coordinatorOptions),
    threePhaseCommit: (coordinatorOptions) => new ThreePhaseCommit(client, env(), coordinatorOptions),
    participant: (participantId, participantOptions) => new TransactionParticipant(client, participantId, env(), participantOptions),
  };
}
