/**
 * Runs a task "soon": after the current turn, after work already queued.
 * Live: `liveExecutor` (executor-live.ts). Simulation: `scheduler.schedule`.
 * The actor system drains its mailboxes through it, so local sends are
 * asynchronous and never re-entrant.
 */
export type Executor = (task: () => void) => void;
