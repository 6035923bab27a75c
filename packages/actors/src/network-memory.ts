import { EndpointInUse, invariant } from "./errors.js";
import type { Random } from "./env.js";
import type { EndpointId, FrameHandler, Network, NetworkEndpoint, NetworkStats } from "./network.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./network.js";
import type { SimScheduler } from "./sim-scheduler.js";

/**
 * A deterministic in-process network driven by a SimScheduler: delivering a
 * frame is an event at now + a latency drawn from the scheduler's seed. Per
 * link (from -> to) frames arrive in send order by default, like one Redis
 * inbox stream; loss, duplication, reordering and partitions come from
 * wrapping it in a FaultyNetwork. Frames are not copied: senders must not
 * mutate a frame after sending it.
 */

export interface InMemoryNetworkOptions {
  /** Latency is uniform in [latencyMsMin, latencyMsMax] (integers; defaults 1 and 3). */
  readonly latencyMsMin?: number;
  readonly latencyMsMax?: number;
  readonly maxFrameBytes?: number;
  /** Bound on frames in flight in the whole network; more are dropped and counted (default 1,000,000). */
  readonly maxInFlightFrames?: number;
  /** Keep per-link FIFO order (default true). */
  readonly preserveLinkOrder?: boolean;
}

export interface InMemoryNetworkStats {
  framesInFlight: number;
  /** Frames that found no open endpoint at delivery time. */
  framesUndeliverable: number;
  /** Frames refused because maxInFlightFrames was reached. */
  framesOverflow: number;
}

class MemoryEndpoint implements NetworkEndpoint {
  closed = false;
  readonly counters: NetworkStats = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDropped: 0 };

  constructor(
    readonly id: EndpointId,
    readonly onFrame: FrameHandler,
    private readonly network: InMemoryNetwork,
  ) {}

  send(to: EndpointId, frame: Uint8Array): void {
    if (this.closed) {
      this.counters.framesDropped++;
      return;
    }
    this.network.transmit(this, to, frame);
  }

  stats(): NetworkStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.network.detach(this);
    return Promise.resolve();
  }
}

export class InMemoryNetwork implements Network {
  private readonly endpoints = new Map<EndpointId, MemoryEndpoint>();
  private readonly lastDeliveryByLink = new Map<string, number>();
  private readonly random: Random;
  private readonly latencyMsMin: number;
  private readonly latencyMsMax: number;
  private readonly maxFrameBytes: number;
  private readonly maxInFlightFrames: number;
  private readonly preserveLinkOrder: boolean;
  private readonly counters: InMemoryNetworkStats = { framesInFlight: 0, framesUndeliverable: 0, framesOverflow: 0 };

  constructor(
    private readonly sim: SimScheduler,
    options: InMemoryNetworkOptions = {},
  ) {
    this.random = sim.random.fork("in-memory-network");
    this.latencyMsMin = options.latencyMsMin ?? 1;
    this.latencyMsMax = options.latencyMsMax ?? 3;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxInFlightFrames = options.maxInFlightFrames ?? 1_000_000;
    this.preserveLinkOrder = options.preserveLinkOrder ?? true;
    invariant(
      Number.isInteger(this.latencyMsMin) && Number.isInteger(this.latencyMsMax) && this.latencyMsMin >= 0 && this.latencyMsMax >= this.latencyMsMin,
      `latency bounds must be integers with 0 <= min <= max, got [${this.latencyMsMin}, ${this.latencyMsMax}]`,
    );
  }

  open(id: EndpointId, onFrame: FrameHandler): Promise<NetworkEndpoint> {
    try {
      return Promise.resolve(this.openSync(id, onFrame));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Synchronous `open`, convenient inside a simulation. Throws EndpointInUse. */
  openSync(id: EndpointId, onFrame: FrameHandler): NetworkEndpoint {
    if (this.endpoints.has(id)) throw new EndpointInUse(id);
    const endpoint = new MemoryEndpoint(id, onFrame, this);
    this.endpoints.set(id, endpoint);
    return endpoint;
  }

  close(): Promise<void> {
    for (const endpoint of [...this.endpoints.values()]) this.detach(endpoint);
    return Promise.resolve();
  }

  networkStats(): InMemoryNetworkStats {
    return { ...this.counters };
  }

  /** @internal */
  detach(endpoint: MemoryEndpoint): void {
    endpoint.closed = true;
    if (this.endpoints.get(endpoint.id) === endpoint) this.endpoints.delete(endpoint.id);
  }

  /** @internal */
  transmit(from: MemoryEndpoint, to: EndpointId, frame: Uint8Array): void {
    if (frame.length > this.maxFrameBytes) {
      from.counters.framesDropped++;
      return;
    }
    if (this.counters.framesInFlight >= this.maxInFlightFrames) {
      from.counters.framesDropped++;
      this.counters.framesOverflow++;
      return;
    }
    from.counters.framesSent++;
    from.counters.bytesSent += frame.length;
    const latency = this.latencyMsMin === this.latencyMsMax ? this.latencyMsMin : this.random.intBetween(this.latencyMsMin, this.latencyMsMax);
    let at = this.sim.now() + latency;
    if (this.preserveLinkOrder) {
      const link = `${from.id}\u0000${to}`;
      const last = this.lastDeliveryByLink.get(link) ?? 0;
      if (at < last) at = last;
      this.lastDeliveryByLink.set(link, at);
    }
    this.counters.framesInFlight++;
    const fromId = from.id;
    this.sim.at(at, `net:${to}`, () => {
      this.counters.framesInFlight--;
      const target = this.endpoints.get(to);
      if (target === undefined || target.closed) {
        this.counters.framesUndeliverable++;
        return;
      }
      if (frame.length > this.maxFrameBytes) {
        target.counters.framesDropped++;
        return;
      }
      target.counters.framesReceived++;
      target.counters.bytesReceived += frame.length;
      target.onFrame(fromId, frame);
    });
  }
}
