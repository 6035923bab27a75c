export * from "./errors.js";
export { Deadline, Listeners, ManagedSessions, sessionSource, MAX_TIMEOUT_MS } from "./common.js";
export type { RecipeEnv, WaitOptions, SessionSource, ManagedSessionsOptions } from "./common.js";
export { Mutex, ReadWriteLock, Semaphore, FencedResource } from "./locks.js";
export type { LockHold, Lease, FencedResourceOptions } from "./locks.js";
