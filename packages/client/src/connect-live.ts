/**
 * `connect()`: a client on the real network (Redis Streams), the real clock
 * and a Random seeded from the OS. The only file of this package that touches
 * real time and entropy (the determinism lint exempts *-live.ts).
 */
import { randomBytes } from "node:crypto";
import { LiveClock, RedisStreamsNetwork, SeededRandom, nullLogger, type RedisConnectionOptions } from "@corral/actors";
import { BadArgumentsError } from "@corral/protocol";
import { nanoid } from "nanoid";
import { CorralClient } from "./client.js";
import type { ClientOptions } from "./options.js";

type RedisOptions = NonNullable<RedisConnectionOptions["redis"]>;

export interface ConnectOptions extends ClientOptions {
  /** The cluster name the nodes were started with. */
  readonly cluster: string;
  /** `redis://host:port/db`, or ioredis options. */
  readonly redis: string | RedisOptions;
  /**
   * Node ids. Default: the members of the Redis set `corral:{<cluster>}:nodes`
   * (the nodes register themselves there).
   */
  readonly nodes?: readonly string[];
}

/** The Redis set nodes register in, for discovery. */
export function nodesKey(cluster: string): string {
  return `corral:{${cluster}}:nodes`;
}

/** Connect to a live ensemble over Redis Streams. Resolves once the session is established. */
export async function connect(options: ConnectOptions): Promise<CorralClient> {
  const redisConnection: RedisConnectionOptions = typeof options.redis === "string" ? { redisUrl: options.redis } : { redis: options.redis };
  const logger = options.logger ?? nullLogger;
  const nodes = options.nodes ?? (await discoverNodes(options.cluster, redisConnection));
  if (nodes.length === 0) {
    throw new BadArgumentsError(undefined, { cause: `no nodes given and none registered in ${nodesKey(options.cluster)}` });
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

async function discoverNodes(cluster: string, connection: RedisConnectionOptions): Promise<string[]> {
  // ioredis is a dependency of @corral/actors; loaded lazily so simulation never pulls it in.
  const { Redis } = await import("ioredis");
  const redis = connection.redisUrl !== undefined
    ? new Redis(connection.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
    : new Redis({ ...connection.redis, lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    const members = await redis.smembers(nodesKey(cluster));
    return members.sort();
  } finally {
    redis.disconnect();
  }
}
