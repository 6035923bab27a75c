/**
 * `connect()`: a client on the real network (Redis Streams), the real clock
 * and a Random seeded from the OS, to the nodes its configuration names.
 * The only file of this package that touches real time and entropy (the
 * determinism lint exempts *-live.ts).
 */
import { randomBytes } from "node:crypto";
import { LiveClock, RedisStreamsNetwork, SeededRandom, nullLogger, type RedisConnectionOptions } from "@corral/actors";
import { BadArgumentsError } from "@corral/protocol";
import { nanoid } from "nanoid";
import { CorralClient } from "./client.js";
import type { ClientOptions } from "./options.js";
import { parseConnectString } from "./stream.js";
import { tcpConnector } from "./stream-live.js";

type RedisOptions = NonNullable<RedisConnectionOptions["redis"]>;

export interface ConnectOptions extends ClientOptions {
  /** The cluster name the nodes were started with. */
  readonly cluster: string;
  /** `redis://host:port/db`, or ioredis options. */
  readonly redis: string | RedisOptions;
  /**
   * The ensemble's node ids, from configuration. Required: nothing is
   * discovered through Redis, where anyone who can write could list an
   * endpoint of their own and receive this client's session (docs/security.md).
   */
  readonly nodes: readonly string[];
}

/**
 * Options for the client port: ZooKeeper's wire protocol over TCP, to Corral
 * nodes or to Apache ZooKeeper servers.
 */
export interface ServersConnectOptions extends Omit<ClientOptions, "nodes"> {
  /** A ZooKeeper connect string ("h1:2181,h2:2181[/chroot]") or a list of "host:port". */
  readonly servers: string | readonly string[];
}

/**
 * Connect to a live ensemble: over TCP with ZooKeeper's wire protocol when
 * `servers` is given (Corral's client port, or Apache ZooKeeper), else over
 * Redis Streams. Resolves once the session is established.
 */
export async function connect(options: ConnectOptions | ServersConnectOptions): Promise<CorralClient> {
  if ("servers" in options) return connectServers(options);
  return connectRedis(options);
}

async function connectServers(options: ServersConnectOptions): Promise<CorralClient> {
  const parsed =
    typeof options.servers === "string"
      ? parseConnectString(options.servers)
      : parseConnectString((options.servers as readonly string[]).join(","));
  if (parsed === undefined) {
    throw new BadArgumentsError(undefined, { cause: `servers must be "host:port[,host:port...][/chroot]", got ${JSON.stringify(options.servers)}` });
  }
  if (parsed.chroot !== undefined && options.chroot !== undefined && options.chroot !== parsed.chroot) {
    throw new BadArgumentsError(undefined, { cause: `two chroots: ${parsed.chroot} in servers and ${options.chroot} in options` });
  }
  const chroot = options.chroot ?? parsed.chroot;
  return CorralClient.connectWith(
    { streams: tcpConnector(), clock: new LiveClock(), random: new SeededRandom(randomBytes(4).readUInt32LE(0)), logger: options.logger ?? nullLogger },
    { ...options, nodes: parsed.servers, ...(chroot !== undefined ? { chroot } : {}) },
    { clientId: `c-${nanoid()}` },
  );
}

async function connectRedis(options: ConnectOptions): Promise<CorralClient> {
  const redisConnection: RedisConnectionOptions = typeof options.redis === "string" ? { redisUrl: options.redis } : { redis: options.redis };
  const logger = options.logger ?? nullLogger;
  const nodes = options.nodes as readonly string[] | undefined;
  if (nodes === undefined || nodes.length === 0) {
    throw new BadArgumentsError(undefined, { cause: "connect needs the ensemble's node ids (options.nodes), from configuration" });
  }
  const network = new RedisStreamsNetwork({ ...redisConnection, cluster: options.cluster, logger });
  try {
    return await CorralClient.connectWith(
      { network, clock: new LiveClock(), random: new SeededRandom(randomBytes(4).readUInt32LE(0)), logger },
      { ...options, nodes },
      { clientId: `c-${nanoid()}`, onReleased: () => network.close() },
    );
  } catch (error) {
    await network.close();
    throw error;
  }
}
