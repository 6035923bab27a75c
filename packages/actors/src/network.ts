/**
 * The network: a best-effort datagram service between endpoints (DESIGN.md §4).
 * A frame may be lost, delayed, duplicated or reordered. Frames are opaque
 * bytes; typed messages are encoded/validated by a codec above this layer.
 *
 * Implementations: `InMemoryNetwork` (simulation), `RedisStreamsNetwork`
 * (production), `FaultyNetwork` (wraps either).
 */

/** Identifies one endpoint on the network: a node ("n1") or a client ("c-<nanoid>"). */
export type EndpointId = string;

/** Receives frames addressed to an endpoint. Must not throw; must not block. */
export type FrameHandler = (from: EndpointId, frame: Uint8Array) => void;

export interface NetworkStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Frames dropped by this layer (oversized, malformed envelope, foreign cluster, queue full ...). */
  framesDropped: number;
}

export interface NetworkEndpoint {
  readonly id: EndpointId;
  /**
   * Queue a frame for `to`. Never throws for transport reasons and never
   * blocks: if the transport is down or a bound is hit the frame is dropped
   * and counted. Sends issued in one turn may be coalesced and pipelined.
   */
  send(to: EndpointId, frame: Uint8Array): void;
  stats(): NetworkStats;
  /** Stop receiving and release resources. Idempotent. */
  close(): Promise<void>;
}

export interface Network {
  /** Open an endpoint; frames addressed to `id` are passed to `onFrame`. */
  open(id: EndpointId, onFrame: FrameHandler): Promise<NetworkEndpoint>;
  close(): Promise<void>;
}

/** Default maximum frame size (bytes). Larger frames are dropped and counted at both ends. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
