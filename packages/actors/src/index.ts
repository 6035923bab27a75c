export type { Clock, Random, Logger, TimerHandle } from "./env.js";
export type { Network, NetworkEndpoint, NetworkStats, EndpointId, FrameHandler } from "./network.js";
export { DEFAULT_MAX_FRAME_BYTES } from "./network.js";
export { SeededRandom } from "./random.js";
export type { FaultCommand } from "./fault-command.js";

export {
  InvariantViolation,
  invariant,
  SimQueueFull,
  TimerLimitExceeded,
  ActorNameTaken,
  InvalidFaultCommand,
  ChannelPeerSilent,
  ChannelReset,
  ChannelFull,
  ChannelClosed,
  MailboxReserveExhausted,
} from "./errors.js";
export type { ChannelFailure } from "./errors.js";
export { BoundedQueue } from "./bounded-queue.js";
export type { Executor } from "./executor.js";
export { liveExecutor } from "./executor-live.js";
export { LiveClock } from "./clock-live.js";
export { createLogger, nullLogger, memoryLogger } from "./logger.js";
export type { CreateLoggerOptions, LogLevel, LogRecord, MemoryLogger } from "./logger.js";
export { SimScheduler, DEFAULT_MAX_PENDING_EVENTS } from "./sim-scheduler.js";
export type { SimSchedulerOptions, NodeClockOptions, SimEventHandle, ExecutorMode } from "./sim-scheduler.js";

export type { Address, ActorContext, ActorRef, Behaviour } from "./actor.js";
export { sameAddress, formatAddress, SendOutcome } from "./actor.js";
export { ActorSystem } from "./actor-system.js";
export type { ActorSystemOptions, ActorSystemStats } from "./actor-system.js";

export {
  DecodeFailure,
  isDecodeFailure,
  schemaCodec,
  readObject,
  readObjectField,
  readString,
  readInt,
  readBoolean,
  readLiteral,
  readBytes,
  readArray,
  readRaw,
  decodeBase64,
  encodeBase64,
} from "./codec.js";
export type { Codec, CodecRegistry, JsonObject, StringLimits, IntLimits } from "./codec.js";
export {
  FRAME_VERSION,
  MAX_NAME_LENGTH,
  FrameTooLarge,
  MalformedFrame,
  ForeignFrame,
  isFrameError,
  encodeActorFrame,
  encodeChannelWireFrame,
  decodeFrame,
} from "./frame.js";
export type { Frame, FrameError, FrameOptions, ActorFrame, ChannelWireFrame } from "./frame.js";
export { EndpointInUse } from "./errors.js";
export { InMemoryNetwork } from "./network-memory.js";
export type { InMemoryNetworkOptions, InMemoryNetworkStats } from "./network-memory.js";
export { FaultyNetwork } from "./network-faulty.js";
export type { FaultyNetworkOptions, FaultStats } from "./network-faulty.js";
export { decodeFaultCommand, faultCommandCodec, MAX_PARTITION_GROUPS, MAX_ENDPOINTS_PER_GROUP, MAX_FAULT_DELAY_MS } from "./fault-command-codec.js";
export type { ChannelFrame } from "./channel-frame.js";
export { channelFrameCodec, MAX_CHANNEL_ID_LENGTH, MAX_SACK_RANGES } from "./channel-frame.js";
export { ReliableChannel, DEFAULT_CHANNEL_LIMITS } from "./reliable-channel.js";
export type { ReliableChannelLimits, ReliableChannelOptions, ReliableChannelStats, ChannelState } from "./reliable-channel.js";
export {
  RedisStreamsNetwork,
  RedisEndpoint,
  RedisNetworkConfigError,
  InvalidEndpointId,
  NetworkClosed,
  REDIS_NETWORK_DEFAULTS,
  inboxKey,
  isValidEndpointId,
} from "./network-redis.js";
export type { RedisStreamsNetworkOptions, RedisConnectionOptions, RedisEndpointStats, BackoffOptions } from "./network-redis.js";
export { RedisFaultControl, publishFault, faultControlKey } from "./fault-control-redis.js";
export type { RedisFaultControlOptions, FaultControlStats } from "./fault-control-redis.js";
export { loadRedisAuth, readRedisPasswordFile, redactRedisUrl, redisUrlHasPassword, redisOptionsFromUrl, RedisCredentialsUnusable, RedisAuthFailed } from "./redis-auth.js";
export { checkRedisCredentials } from "./redis-check-live.js";
export type { RedisAuthFiles, LoadedRedisAuth } from "./redis-auth.js";
export { buggify, buggifyEnabled, enableBuggify } from "./buggify.js";
export type { BuggifyOptions, BuggifyStats } from "./buggify.js";
export { freePort, pingRedis } from "./probe-live.js";
export {
  PeerAuth,
  ClusterKeyring,
  ClusterKeyInvalid,
  PeerFrameRejected,
  parseClusterKeyFile,
  formatClusterKeyLine,
  clusterKeyIdFor,
  simulationKeyring,
  isSealedPeerFrame,
  sealingEndpoint,
  openingFrameHandler,
  PEER_FRAME_MAGIC,
  PEER_FRAME_VERSION,
  PEER_MAC_BYTES,
  MAX_PEER_HEADER_BYTES,
  MAX_PEER_EPOCH,
  MAX_CLUSTER_KEYS,
  MIN_CLUSTER_KEY_BYTES,
  MAX_CLUSTER_KEY_BYTES,
  MAX_CLUSTER_KEY_FILE_BYTES,
  DEFAULT_REPLAY_WINDOW,
  MAX_REPLAY_WINDOW,
} from "./peer-auth.js";
export type { ClusterKey, PeerAuthOptions, PeerAuthStats, PeerRejectReason, OpenedPeerFrame, AuthenticatedFrameHandler } from "./peer-auth.js";
