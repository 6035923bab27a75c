export * from "./types.js";
export { InvariantViolation, NotLeaderError, ProposalDroppedError, ProposalDropReason, DecodeError, CompactError } from "./errors.js";
export { MessageType } from "./messages.js";
export type {
  RaftMessage,
  MsgVote,
  MsgVoteResp,
  MsgApp,
  MsgAppResp,
  MsgHeartbeat,
  MsgHeartbeatResp,
  MsgSnap,
  MsgSnapResp,
  MsgReadIndex,
  MsgReadIndexResp,
  MsgTimeoutNow,
  MsgTransferLeader,
  MsgProp,
  ProposedEntry,
} from "./messages.js";
export { encodeRaftMessage, decodeRaftMessage, raftMessageToJson, decodeRaftMessageJson, DEFAULT_RAFT_CODEC_LIMITS } from "./codec.js";
export type { RaftCodecLimits } from "./codec.js";
export { ConfChangeType, encodeConfChange, decodeConfChange, applyConfChange, confChangeProblem } from "./conf-change.js";
export type { ConfChange } from "./conf-change.js";
export { RawNode, Role } from "./raw-node.js";
export type { RaftConfig, Ready, ReadState, SoftState, ProposeResult, ForwardResult, RaftStatus, PeerStatus } from "./raw-node.js";
export { ProgressState } from "./progress.js";
export { Inflights } from "./inflights.js";
export { majorityCommitted, jointCommitted, VoteResult } from "./quorum.js";
export { MemoryDurableLog, MemoryLogUnavailableError } from "./storage-memory.js";
export type { MemoryDurableLogOptions, CrashOptions } from "./storage-memory.js";
export {
  FileDurableLog,
  FILE_DURABLE_LOG_DEFAULTS,
  StorageCorruptionError,
  StorageFailedError,
  StorageInvalidInputError,
  StorageInvariantViolation,
  StorageLockedError,
  StorageNotOpenError,
  StorageQueueFullError,
  StorageRecordTooLargeError,
  DATA_DIRECTORY_MODE,
  DATA_FILE_MODE,
  liveWalFileSystem,
} from "./storage-file.js";
export type { FileDurableLogOptions, FileDurableLogStats, FsyncPolicy, StorageError, WalFileHandle, WalFileSystem, WalOpenFlags } from "./storage-file.js";
export { checkRaftMessageBounds, RaftMessageOutOfBounds, MAX_RAFT_TERM, MAX_RAFT_INDEX, MAX_RAFT_COUNT } from "./bounds.js";
