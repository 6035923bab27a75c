/**
 * Fault commands from outside the process (DESIGN.md §4): a control stream
 * `corral:{<cluster>}:faults` whose entries `c <json FaultCommand>` are
 * validated and handed to a callback (normally a FaultyNetwork's `apply`).
 *
 * SECURITY: anyone who can write to Redis can publish on this stream. Nodes
 * must only start a RedisFaultControl in an explicit test mode (a flag that
 * production configs never set); in production nobody with Redis access may
 * partition the ensemble.
 */
import type { Redis } from "ioredis";
import type { Logger } from "./env.js";
import type { EndpointId } from "./network.js";
import type { FaultCommand } from "./fault-command.js";
import { StreamTail, isValidEndpointId, RedisNetworkConfigError, REDIS_NETWORK_DEFAULTS } from "./network-redis.js";
import type { RedisConnectionOptions } from "./network-redis.js";

/** The control stream of a cluster. */
export function faultControlKey(cluster: string): string {
  return `corral:{${cluster}}:faults`;
}

/** Bound of the control stream (it is a command channel, not a history). */
export const FAULT_STREAM_MAX_LEN = 1000;
/** Bound of one encoded command. */
export const FAULT_COMMAND_MAX_BYTES = 64 * 1024;
/** Bound of the groups / members of a partition command. */
const MAX_GROUPS = 64;
const MAX_GROUP_MEMBERS = 1024;

export type FaultCommandParseResult = { readonly ok: true; readonly command: FaultCommand } | { readonly ok: false; readonly reason: string };

function probability(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 1;
}

function delay(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 24 * 60 * 60 * 1000;
}

function endpoint(value: unknown): value is EndpointId {
  return typeof value === "string" && isValidEndpointId(value);
}

function onlyKeys(record: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(record).find((key) => !allowed.includes(key));
}

/** Strictly validate a decoded JSON value as a FaultCommand. Unknown fields are rejected. */
export function parseFaultCommand(value: unknown): FaultCommandParseResult {
  const fail = (reason: string): FaultCommandParseResult => ({ ok: false, reason });
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("not an object");
  const record = value as Record<string, unknown>;
  switch (record["kind"]) {
    case "set-link-faults": {
      const extra = onlyKeys(record, ["kind", "from", "to", "drop", "duplicate", "reorder", "delayMsMin", "delayMsMax"]);
      if (extra !== undefined) return fail(`unknown field ${extra}`);
      const { from, to, drop, duplicate, reorder, delayMsMin, delayMsMax } = record;
      if (from !== "*" && !endpoint(from)) return fail("from: expected an endpoint id or *");
      if (to !== "*" && !endpoint(to)) return fail("to: expected an endpoint id or *");
      for (const [name, p] of [["drop", drop], ["duplicate", duplicate], ["reorder", reorder]] as const) {
        if (p !== undefined && !probability(p)) return fail(`${name}: expected a probability in [0, 1]`);
      }
      if (delayMsMin !== undefined && !delay(delayMsMin)) return fail("delayMsMin: expected a delay in ms");
      if (delayMsMax !== undefined && !delay(delayMsMax)) return fail("delayMsMax: expected a delay in ms");
      if (typeof delayMsMin === "number" && typeof delayMsMax === "number" && delayMsMax < delayMsMin) {
        return fail("delayMsMax < delayMsMin");
      }
      const command: {
        kind: "set-link-faults";
        from: EndpointId;
        to: EndpointId;
        drop?: number;
        duplicate?: number;
        reorder?: number;
        delayMsMin?: number;
        delayMsMax?: number;
      } = { kind: "set-link-faults", from, to };
      if (typeof drop === "number") command.drop = drop;
      if (typeof duplicate === "number") command.duplicate = duplicate;
      if (typeof reorder === "number") command.reorder = reorder;
      if (typeof delayMsMin === "number") command.delayMsMin = delayMsMin;
      if (typeof delayMsMax === "number") command.delayMsMax = delayMsMax;
      return { ok: true, command };
    }
    case "partition": {
      const extra = onlyKeys(record, ["kind", "groups"]);
      if (extra !== undefined) return fail(`unknown field ${extra}`);
      const groups = record["groups"];
      if (!Array.isArray(groups) || groups.length > MAX_GROUPS) return fail(`groups: expected at most ${MAX_GROUPS} arrays`);
      const seen = new Set<string>();
      for (const group of groups as unknown[]) {
        if (!Array.isArray(group) || group.length > MAX_GROUP_MEMBERS) return fail("groups: expected arrays of endpoint ids");
        for (const member of group as unknown[]) {
          if (!endpoint(member)) return fail("groups: expected endpoint ids");
          if (seen.has(member)) return fail(`groups: ${member} is in two groups`);
          seen.add(member);
        }
      }
      return { ok: true, command: { kind: "partition", groups: (groups as EndpointId[][]).map((group) => [...group]) } };
    }
    case "block":
    case "unblock": {
      const extra = onlyKeys(record, ["kind", "from", "to"]);
      if (extra !== undefined) return fail(`unknown field ${extra}`);
      const { kind, from, to } = record;
      if (!endpoint(from) || !endpoint(to)) return fail("from/to: expected endpoint ids");
      return { ok: true, command: { kind, from, to } };
    }
    case "heal": {
      const extra = onlyKeys(record, ["kind"]);
      if (extra !== undefined) return fail(`unknown field ${extra}`);
      return { ok: true, command: { kind: "heal" } };
    }
    default:
      return fail("unknown kind");
  }
}

/** Decode one stream entry `c <json>`. */
export function parseFaultEntry(fields: readonly Buffer[]): FaultCommandParseResult {
  const name = fields[0];
  const body = fields[1];
  if (fields.length !== 2 || name === undefined || body === undefined || name.toString("latin1") !== "c") {
    return { ok: false, reason: "entry is not `c <json>`" };
  }
  if (body.length > FAULT_COMMAND_MAX_BYTES) return { ok: false, reason: "command too large" };
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  return parseFaultCommand(value);
}

/** Publish a fault command on a cluster's control stream. Rejects (typed) if the command is not valid. */
export async function publishFault(redis: Redis, cluster: string, command: FaultCommand): Promise<void> {
  const parsed = parseFaultCommand(command);
  if (!parsed.ok) throw new RedisNetworkConfigError("FaultCommand", parsed.reason);
  await redis.xadd(faultControlKey(cluster), "MAXLEN", "~", FAULT_STREAM_MAX_LEN, "*", "c", JSON.stringify(parsed.command));
}

export interface RedisFaultControlOptions extends RedisConnectionOptions {
  readonly cluster: string;
  /** Called with every valid command, in stream order. Must not throw. */
  readonly onCommand: (command: FaultCommand) => void;
  /** Read commands already in the stream too (default: only new ones). */
  readonly startFrom?: "latest" | "beginning";
  readonly readBlockMs?: number;
}

export interface FaultControlStats {
  commandsApplied: number;
  commandsDropped: number;
}

/**
 * Tails a cluster's fault-control stream. Only for nodes started in explicit
 * test mode (see the file comment). Malformed entries are dropped, counted and
 * logged; they never reach `onCommand`.
 */
export class RedisFaultControl {
  private readonly tail: StreamTail;
  private readonly counters: FaultControlStats = { commandsApplied: 0, commandsDropped: 0 };

  private constructor(options: RedisFaultControlOptions, logger: Logger | undefined) {
    if (!isValidEndpointId(options.cluster)) throw new RedisNetworkConfigError("cluster", "expected 1-128 of [A-Za-z0-9_.-]");
    this.tail = new StreamTail({
      ...options,
      key: faultControlKey(options.cluster),
      readBlockMs: options.readBlockMs ?? REDIS_NETWORK_DEFAULTS.readBlockMs,
      readCount: 64,
      startFrom: options.startFrom ?? "latest",
      onEntry: (id, fields) => {
        const parsed = parseFaultEntry(fields);
        if (!parsed.ok) {
          this.counters.commandsDropped += 1;
          logger?.warn({ entryId: id, reason: parsed.reason }, "dropped malformed fault command");
          return;
        }
        this.counters.commandsApplied += 1;
        options.onCommand(parsed.command);
      },
    });
  }

  /**
   * Start tailing. Resolves once the read position is fixed (commands
   * published afterwards are delivered) or after `openWaitMs` if Redis is down.
   */
  static async start(options: RedisFaultControlOptions, openWaitMs: number = REDIS_NETWORK_DEFAULTS.openWaitMs): Promise<RedisFaultControl> {
    const control = new RedisFaultControl(options, options.logger);
    await control.tail.waitStarted(openWaitMs);
    return control;
  }

  stats(): FaultControlStats {
    return { ...this.counters };
  }

  /** Stop tailing and close the connection. Idempotent. */
  close(): Promise<void> {
    return this.tail.close();
  }
}
