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
import type { FaultCommand } from "./fault-command.js";
import { decodeFaultCommand } from "./fault-command-codec.js";
import { DecodeFailure } from "./codec.js";
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

export type FaultCommandParseResult = { readonly ok: true; readonly command: FaultCommand } | { readonly ok: false; readonly reason: string };

/** Strictly validate a decoded JSON value as a FaultCommand (the shared decoder of fault-command-codec.ts). */
export function parseFaultCommand(value: unknown): FaultCommandParseResult {
  const decoded = decodeFaultCommand(value);
  if (decoded instanceof DecodeFailure) return { ok: false, reason: `${decoded.path}: ${decoded.reason}` };
  return { ok: true, command: decoded };
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
