/**
 * Shared by the demos: connect to a running `corral up` ensemble. Reads
 * <data>/ensemble.json (CORRAL_DATA, default .corral) for the Redis URL and
 * the cluster name; returns a ManagedSessions (a new session after expiry)
 * and a live RecipeEnv (LiveClock, a seeded Random).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LiveClock, SeededRandom } from "@corral/actors";
import { connect } from "@corral/client";
import { ManagedSessions, type RecipeEnv } from "@corral/recipes";

export async function connectLive(label: string): Promise<{ sessions: ManagedSessions; env: RecipeEnv }> {
  const dataDir = process.env.CORRAL_DATA ?? ".corral";
  const record = JSON.parse(readFileSync(join(dataDir, "ensemble.json"), "utf8")) as { cluster: string; redisUrl: string };
  const env: RecipeEnv = { clock: new LiveClock(), random: new SeededRandom((process.pid * 2654435761) >>> 0) };
  const sessions = await ManagedSessions.start(() => connect({ cluster: record.cluster, redis: record.redisUrl, sessionTimeoutMs: 10_000 }), env);
  console.log(`[${label}] connected to cluster ${record.cluster} (session ${sessions.current().sessionId})`);
  return { sessions, env };
}
