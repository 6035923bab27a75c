export { DataTree, NodeKind, compareStrings, defaultTreeLimits } from "./data-tree.js";
export type {
  ApplyContext,
  ApplyOutcome,
  ReadContext,
  ReapCandidate,
  SessionEvent,
  SessionInfo,
  TreeChange,
  TreeConfig,
  TreeLimits,
} from "./data-tree.js";
export { findReapable } from "./reap.js";
export { permitted } from "./acl.js";
export type { AuthContext } from "./acl.js";
export { SnapshotError, TreeInvariantViolation } from "./errors.js";
export { WatchRegistry, defaultWatchLimits } from "./watches.js";
export type { HistoryEntry, RemovedWatches, ResumeOutcome, WatchDelivery, WatchLimits } from "./watches.js";
