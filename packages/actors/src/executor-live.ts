import type { Executor } from "./executor.js";

/**
 * Live executor: setImmediate, so a busy actor system yields to I/O between
 * drains (queueMicrotask would starve the Redis reader under load).
 */
export const liveExecutor: Executor = (task) => {
  setImmediate(task);
};
