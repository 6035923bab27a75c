import { decodeFaultCommand } from "./fault-command-codec.js";
import type { FaultCommand } from "./fault-command.js";
import { DecodeFailure } from "./codec.js";
import type { Clock, Logger, Random, TimerHandle } from "./env.js";
import { InvalidFaultCommand } from "./errors.js";
import { nullLogger } from "./logger.js";
import type { EndpointId, FrameHandler, Network, NetworkEndpoint, NetworkStats } from "./network.js";

/**
 * Wraps any Network and injects faults on the sending side, switchable at run
 * time with `apply(FaultCommand)`: per-link drop / duplicate / reorder / delay
 * probabilities, partitions into groups, one-way blocks, heal. Decisions use
 * the injected Random and delays the injected Clock, so under the simulator a
 * faulty run replays from its seed.
 *
 * Link rules: the most specific matching rule wins (from->to, then from->*,
 * then *->to, then *->*). A "set-link-faults" with no fault fields removes
 * that rule. Partition: two endpoints can talk when they share a group or
 * when either is in no group. Partitions and blocks are checked when a frame
 * is sent; frames already delayed or in flight still arrive.
 */

export interface FaultyNetworkOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger?: Logger;
  /** A reordered frame is held back until the next frame on its link, or at most this long (default 20). */
  readonly reorderHoldMsMax?: number;
  /** Bound on frames held by delay or reorder at once; more are dropped and counted (default 100,000). */
  readonly maxHeldFrames?: number;
}

export interface FaultStats {
  dropped: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  /** Dropped because sender and receiver are in different partition groups. */
  partitioned: number;
  /** Dropped by a one-way block. */
  blocked: number;
  /** Dropped because maxHeldFrames was reached. */
  heldOverflow: number;
  commandsApplied: number;
  commandsRejected: number;
}

interface LinkRule {
  readonly drop: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly delayMsMin: number;
  readonly delayMsMax: number;
}

interface HeldFrame {
  readonly frame: Uint8Array;
  readonly timer: TimerHandle;
}

const WILDCARD = "*";

function linkKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}

class FaultyEndpoint implements NetworkEndpoint {
  readonly held = new Map<EndpointId, HeldFrame>();

  constructor(
    readonly inner: NetworkEndpoint,
    private readonly network: FaultyNetwork,
  ) {}

  get id(): EndpointId {
    return this.inner.id;
  }

  send(to: EndpointId, frame: Uint8Array): void {
    this.network.route(this, to, frame);
  }

  stats(): NetworkStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    this.network.forget(this);
    return this.inner.close();
  }
}

export class FaultyNetwork implements Network {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly reorderHoldMsMax: number;
  private readonly maxHeldFrames: number;
  private readonly rules = new Map<string, LinkRule>();
  private readonly groupsByEndpoint = new Map<EndpointId, Set<number>>();
  private readonly blocks = new Set<string>();
  private readonly endpoints = new Set<FaultyEndpoint>();
  private heldFrames = 0;
  private readonly counters: FaultStats = {
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    partitioned: 0,
    blocked: 0,
    heldOverflow: 0,
    commandsApplied: 0,
    commandsRejected: 0,
  };

  constructor(
    private readonly inner: Network,
    options: FaultyNetworkOptions,
  ) {
    this.clock = options.clock;
    this.random = options.random;
    this.logger = options.logger ?? nullLogger;
    this.reorderHoldMsMax = options.reorderHoldMsMax ?? 20;
    this.maxHeldFrames = options.maxHeldFrames ?? 100_000;
  }

  async open(id: EndpointId, onFrame: FrameHandler): Promise<NetworkEndpoint> {
    const endpoint = new FaultyEndpoint(await this.inner.open(id, onFrame), this);
    this.endpoints.add(endpoint);
    return endpoint;
  }

  /** Wrap an endpoint opened synchronously on the inner network (e.g. `InMemoryNetwork.openSync`). */
  wrap(inner: NetworkEndpoint): NetworkEndpoint {
    const endpoint = new FaultyEndpoint(inner, this);
    this.endpoints.add(endpoint);
    return endpoint;
  }

  async close(): Promise<void> {
    for (const endpoint of [...this.endpoints]) this.forget(endpoint);
    await this.inner.close();
  }

  faultStats(): FaultStats {
    return { ...this.counters };
  }

  /**
   * Validate and apply a command (it may come from outside the process).
   * Returns InvalidFaultCommand, changing nothing, if it is malformed.
   */
  apply(command: FaultCommand | unknown): InvalidFaultCommand | undefined {
    const valid = decodeFaultCommand(command);
    if (valid instanceof DecodeFailure) {
      this.counters.commandsRejected++;
      return new InvalidFaultCommand(valid.path === "" ? valid.reason : `${valid.path}: ${valid.reason}`);
    }
    this.counters.commandsApplied++;
    this.logger.info({ command: valid }, "fault command applied");
    switch (valid.kind) {
      case "heal":
        this.rules.clear();
        this.groupsByEndpoint.clear();
        this.blocks.clear();
        return undefined;
      case "block":
        this.blocks.add(linkKey(valid.from, valid.to));
        return undefined;
      case "unblock":
        this.blocks.delete(linkKey(valid.from, valid.to));
        return undefined;
      case "partition":
        this.groupsByEndpoint.clear();
        valid.groups.forEach((group, index) => {
          for (const member of group) {
            let groups = this.groupsByEndpoint.get(member);
            if (groups === undefined) this.groupsByEndpoint.set(member, (groups = new Set()));
            groups.add(index);
          }
        });
        return undefined;
      case "set-link-faults": {
        const key = linkKey(valid.from, valid.to);
        const delayMsMin = valid.delayMsMin ?? 0;
        const rule: LinkRule = {
          drop: valid.drop ?? 0,
          duplicate: valid.duplicate ?? 0,
          reorder: valid.reorder ?? 0,
          delayMsMin,
          delayMsMax: valid.delayMsMax ?? delayMsMin,
        };
        if (rule.drop === 0 && rule.duplicate === 0 && rule.reorder === 0 && rule.delayMsMax === 0) this.rules.delete(key);
        else this.rules.set(key, rule);
        return undefined;
      }
    }
  }

  /** @internal */
  forget(endpoint: FaultyEndpoint): void {
    for (const held of endpoint.held.values()) {
      this.clock.clearTimer(held.timer);
      this.heldFrames--;
    }
    endpoint.held.clear();
    this.endpoints.delete(endpoint);
  }

  /** @internal */
  route(from: FaultyEndpoint, to: EndpointId, frame: Uint8Array): void {
    const fromId = from.id;
    if (this.blocks.size > 0 && this.blocks.has(linkKey(fromId, to))) {
      this.counters.blocked++;
      return;
    }
    if (this.groupsByEndpoint.size > 0 && !this.canReach(fromId, to)) {
      this.counters.partitioned++;
      return;
    }
    const rule = this.rules.size === 0 ? undefined : this.ruleFor(fromId, to);
    if (rule === undefined) {
      this.forward(from, to, frame);
      return;
    }
    if (rule.drop > 0 && this.random.chance(rule.drop)) {
      this.counters.dropped++;
      return;
    }
    const copies = rule.duplicate > 0 && this.random.chance(rule.duplicate) ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let copy = 0; copy < copies; copy++) {
      if (rule.reorder > 0 && !from.held.has(to) && this.random.chance(rule.reorder)) {
        this.hold(from, to, frame);
        continue;
      }
      this.sendDelayed(from, to, frame, rule);
      // The held frame goes out after this later one: that is the reordering.
      const held = from.held.get(to);
      if (held !== undefined) this.release(from, to, held);
    }
  }

  private canReach(from: EndpointId, to: EndpointId): boolean {
    const fromGroups = this.groupsByEndpoint.get(from);
    const toGroups = this.groupsByEndpoint.get(to);
    if (fromGroups === undefined || toGroups === undefined) return true;
    for (const group of fromGroups) if (toGroups.has(group)) return true;
    return false;
  }

  private ruleFor(from: EndpointId, to: EndpointId): LinkRule | undefined {
    return (
      this.rules.get(linkKey(from, to)) ??
      this.rules.get(linkKey(from, WILDCARD)) ??
      this.rules.get(linkKey(WILDCARD, to)) ??
      this.rules.get(linkKey(WILDCARD, WILDCARD))
    );
  }

  private hold(from: FaultyEndpoint, to: EndpointId, frame: Uint8Array): void {
    if (this.heldFrames >= this.maxHeldFrames) {
      this.counters.heldOverflow++;
      return;
    }
    this.counters.reordered++;
    this.heldFrames++;
    const holdMs = this.random.intBetween(1, Math.max(1, this.reorderHoldMsMax));
    const timer = this.clock.setTimer(holdMs, () => {
      const held = from.held.get(to);
      if (held !== undefined && held.timer === timer) this.release(from, to, held);
    });
    from.held.set(to, { frame, timer });
  }

  private release(from: FaultyEndpoint, to: EndpointId, held: HeldFrame): void {
    this.clock.clearTimer(held.timer);
    from.held.delete(to);
    this.heldFrames--;
    this.forward(from, to, held.frame);
  }

  private sendDelayed(from: FaultyEndpoint, to: EndpointId, frame: Uint8Array, rule: LinkRule): void {
    if (rule.delayMsMax <= 0) {
      this.forward(from, to, frame);
      return;
    }
    const delayMs = this.random.intBetween(rule.delayMsMin, rule.delayMsMax);
    if (delayMs === 0) {
      this.forward(from, to, frame);
      return;
    }
    if (this.heldFrames >= this.maxHeldFrames) {
      this.counters.heldOverflow++;
      return;
    }
    this.counters.delayed++;
    this.heldFrames++;
    this.clock.setTimer(delayMs, () => {
      this.heldFrames--;
      this.forward(from, to, frame);
    });
  }

  private forward(from: FaultyEndpoint, to: EndpointId, frame: Uint8Array): void {
    if (!this.endpoints.has(from)) return;
    from.inner.send(to, frame);
  }
}
