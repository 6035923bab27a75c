/**
 * Shared by the demos: connect to a running `corral up` ensemble. Reads
 * <data>/ensemble.json (`--data <dir>`, else CORRAL_DATA, else .corral) for the Redis URL and
 * the cluster name; returns a ManagedSessions (a new session after expiry)
 * and a live RecipeEnv (LiveClock, a seeded Random).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LiveClock, SeededRandom } from "@corral/actors";
import { connect } from "@corral/client";
import { ManagedSessions, type RecipeEnv } from "@corral/recipes";

/** The data directory of `corral up`: `--data <dir>` / `--data=<dir>`, else $CORRAL_DATA, else ".corral". */
function dataDirectory(): string {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--data" && args[i + 1] !== undefined) return args[i + 1]!;
    if (arg.startsWith("--data=")) return arg.slice("--data=".length);
  }
  return process.env.CORRAL_DATA ?? ".corral";
}

/** A numeric `--name N` / `--name=N` option, or `fallback`. */
export function numberOption(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const text = arg === name ? args[i + 1] : arg.startsWith(`${name}=`) ? arg.slice(name.length + 1) : undefined;
    if (text !== undefined) {
      const value = Number(text);
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${text}`);
      return value;
    }
  }
  return fallback;
}

export async function connectLive(label: string): Promise<{ sessions: ManagedSessions; env: RecipeEnv }> {
  const dataDir = dataDirectory();
  const record = JSON.parse(readFileSync(join(dataDir, "ensemble.json"), "utf8")) as { cluster: string; redisUrl: string; nodes: { id: string }[] };
  const env: RecipeEnv = { clock: new LiveClock(), random: new SeededRandom((process.pid * 2654435761) >>> 0) };
  const sessions = await ManagedSessions.start(() => connect({ cluster: record.cluster, redis: record.redisUrl, nodes: record.nodes.map((node) => node.id), sessionTimeoutMs: 10_000 }), env);
  console.log(`[${label}] connected to cluster ${record.cluster} (session ${sessions.current().sessionId})`);
  return { sessions, env };
}
