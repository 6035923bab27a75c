export type { Clock, Random, Logger, TimerHandle } from "./env.js";
export type { Network, NetworkEndpoint, NetworkStats, EndpointId, FrameHandler } from "./network.js";
export { DEFAULT_MAX_FRAME_BYTES } from "./network.js";
export { SeededRandom } from "./random.js";
export type { FaultCommand } from "./fault-command.js";
