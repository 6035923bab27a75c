/**
 * Shared by the demos: connect to a running `corral up` ensemble. Reads
 * <data>/ensemble.json (`--data <dir>`, else CORRAL_DATA, else .corral) for the
 * nodes' client ports; returns a ManagedSessions (a new session after expiry)
 * and `recipes(sessions)`: the recipes with their live defaults, as an
 * application would use them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@corral/client";
import { ManagedSessions, recipes, type Recipes } from "@corral/recipes";

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

/** Wait `ms` of real time (the demos pace themselves for a person to watch). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function connectLive(label: string): Promise<{ sessions: ManagedSessions; r: Recipes }> {
  const dataDir = dataDirectory();
  const record = JSON.parse(readFileSync(join(dataDir, "ensemble.json"), "utf8")) as { cluster: string; nodes: { id: string; clientAddress?: string }[] };
  // The nodes' client ports (ZooKeeper's wire protocol), as any ZooKeeper client would connect.
  const servers = record.nodes.map((node) => node.clientAddress).filter((address): address is string => address !== undefined);
  if (servers.length === 0) throw new Error(`${join(dataDir, "ensemble.json")} names no client ports: start the ensemble with ./scripts/up`);
  const sessions = await ManagedSessions.start(() => connect({ servers, sessionTimeoutMs: 10_000 }));
  console.log(`[${label}] connected to cluster ${record.cluster} (session ${sessions.current().sessionId})`);
  return { sessions, r: recipes(sessions) };
}
