/**
 * A Corral ensemble for benchmarks: either one this process starts (a
 * redis-server plus N `corral node` processes on loopback, fsync always,
 * tracked by compare/processes.ts so every exit path kills them), or one that
 * is already running (`corral up`'s ensemble.json, or --redis/--cluster), which
 * is only attached to. Leadership is read from each node's admin /status.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatClusterKeyLine } from "@corral/actors";
import { startRedis, type TestRedis } from "../../test/support/redis.js";
import { CompareError } from "../compare/types.js";
import { freeLoopbackPorts, isRunning, killHard, sleep, spawnTracked, waitUntil } from "../compare/processes.js";

const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));
const cliMain = join(repositoryRoot, "packages", "cli", "src", "main.ts");

export interface EnsembleMember {
  readonly id: string;
  readonly adminUrl: string;
  /** Known when we started it or ensemble.json recorded it. */
  readonly pid: number | undefined;
  /** The node's client port ("host:port", ZooKeeper's wire protocol), when it has one. */
  readonly clientAddress?: string;
}

export interface EnsembleTarget {
  readonly redisUrl: string;
  readonly cluster: string;
  readonly members: readonly EnsembleMember[];
}

export interface MemberStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
}

export async function fetchStatus(member: EnsembleMember, timeoutMs = 1_000): Promise<MemberStatus | undefined> {
  try {
    const response = await fetch(`${member.adminUrl}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as Partial<MemberStatus>;
    if (typeof body.id !== "string" || typeof body.role !== "string" || typeof body.term !== "number") return undefined;
    return { id: body.id, role: body.role, term: body.term, leader: body.leader ?? null, commitIndex: body.commitIndex ?? 0 };
  } catch (_error) {
    return undefined;
  }
}

/** The member whose /status says it leads (the highest term wins if two claim it), or undefined. */
export async function findLeader(members: readonly EnsembleMember[]): Promise<{ member: EnsembleMember; status: MemberStatus } | undefined> {
  const statuses = await Promise.all(members.map(async (member) => ({ member, status: await fetchStatus(member) })));
  let best: { member: EnsembleMember; status: MemberStatus } | undefined;
  for (const entry of statuses) {
    if (entry.status?.role !== "leader") continue;
    if (best === undefined || entry.status.term > best.status.term) best = { member: entry.member, status: entry.status };
  }
  return best;
}

/** Reads `<dataDir>/ensemble.json` as `corral up` writes it (only the fields a benchmark needs). */
export function readEnsembleTarget(dataDir: string): EnsembleTarget {
  const file = join(dataDir, "ensemble.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new CompareError("BadArgument", `cannot read ${file}: start an ensemble with \`corral up --data ${dataDir}\`, or pass --redis URL --cluster NAME`, { cause: error });
  }
  const record = parsed as { cluster?: unknown; redisUrl?: unknown; nodes?: unknown };
  if (typeof record.cluster !== "string" || typeof record.redisUrl !== "string" || !Array.isArray(record.nodes)) {
    throw new CompareError("BadArgument", `${file}: expected cluster, redisUrl and nodes`);
  }
  const members = record.nodes.map((node: unknown, index): EnsembleMember => {
    const entry = node as { id?: unknown; adminUrl?: unknown; pid?: unknown; clientAddress?: unknown };
    if (typeof entry.id !== "string" || typeof entry.adminUrl !== "string") throw new CompareError("BadArgument", `${file}: nodes[${index}] needs id and adminUrl`);
    const member = { id: entry.id, adminUrl: entry.adminUrl, pid: typeof entry.pid === "number" ? entry.pid : undefined };
    return typeof entry.clientAddress === "string" ? { ...member, clientAddress: entry.clientAddress } : member;
  });
  return { redisUrl: record.redisUrl, cluster: record.cluster, members };
}

export interface LocalEnsembleOptions {
  readonly directory: string;
  readonly nodeCount: number;
  readonly log: (line: string) => void;
  /** Extra node.js flags for every node, e.g. ["--cpu-prof", "--cpu-prof-dir", DIR]. */
  readonly nodeFlags?: readonly string[];
  readonly logLevel?: string;
  readonly leaderTimeoutMs?: number;
}

/** Redis + N node processes started by this process. */
export class LocalEnsemble {
  private redis: TestRedis | undefined;
  private readonly children = new Map<string, ChildProcess>();
  private currentTarget: EnsembleTarget | undefined;

  constructor(private readonly options: LocalEnsembleOptions) {}

  get target(): EnsembleTarget {
    if (this.currentTarget === undefined) throw new CompareError("BadArgument", "corral ensemble used before start");
    return this.currentTarget;
  }

  child(id: string): ChildProcess | undefined {
    return this.children.get(id);
  }

  async start(): Promise<void> {
    const { directory, nodeCount, log } = this.options;
    this.redis = await startRedis({ backend: "binary" });
    const cluster = `bench${process.pid}`;
    const ids = Array.from({ length: nodeCount }, (_value, index) => `n${index + 1}`);
    // An admin port and a client port (ZooKeeper's wire protocol) per node.
    const ports = await freeLoopbackPorts(nodeCount * 2);
    const members: EnsembleMember[] = [];
    mkdirSync(directory, { recursive: true });
    const keyFile = join(directory, "cluster.key");
    writeFileSync(keyFile, `${formatClusterKeyLine({ id: "bench", secret: new Uint8Array(randomBytes(32)) })}\n`, { mode: 0o600 });
    for (const [index, id] of ids.entries()) {
      const port = ports[index] ?? 0;
      const clientPort = ports[nodeCount + index] ?? 0;
      const dataDirectory = join(directory, id);
      mkdirSync(dataDirectory, { recursive: true });
      const args = [
        "--conditions=@corral/source", "--import", "tsx", ...(this.options.nodeFlags ?? []), cliMain, "node",
        "--id", id, "--peers", ids.join(","), "--cluster", cluster, "--redis", this.redis.url, "--cluster-key-file", keyFile,
        "--data", dataDirectory, "--admin-port", String(port), "--admin-host", "127.0.0.1",
        "--client-port", String(clientPort), "--client-host", "127.0.0.1",
        "--log-level", this.options.logLevel ?? "warn", "--fsync", "always",
      ];
      const child = spawnTracked(process.execPath, args, join(directory, `${id}.log`), { ...process.env, CORRAL_CONFIG: "" });
      this.children.set(id, child);
      members.push({ id, adminUrl: `http://127.0.0.1:${port}`, pid: child.pid, clientAddress: `127.0.0.1:${clientPort}` });
    }
    this.currentTarget = { redisUrl: this.redis.url, cluster, members };
    log(`corral: ${nodeCount} nodes (${members.map((member) => `${member.id} pid ${member.pid ?? "?"}`).join(", ")}) on ${this.redis.url}, cluster ${cluster}, logs in ${directory}`);
    const ready = await waitUntil(async () => {
      for (const [id, child] of this.children) {
        if (!isRunning(child)) throw new CompareError("PeerStartFailed", `corral node ${id} exited (code ${child.exitCode ?? child.signalCode}); see ${join(directory, `${id}.log`)}`);
      }
      const leader = await findLeader(members);
      if (leader === undefined) return false;
      // Every member must know the leader, so clients on any node are served.
      const statuses = await Promise.all(members.map((member) => fetchStatus(member)));
      return statuses.every((status) => status?.leader === leader.member.id);
    }, this.options.leaderTimeoutMs ?? 60_000, 100);
    if (!ready) throw new CompareError("PeerNotHealthy", `corral ensemble elected no leader known to all members within ${(this.options.leaderTimeoutMs ?? 60_000) / 1000} s; see ${directory}/*.log`);
  }

  async kill(id: string): Promise<void> {
    const child = this.children.get(id);
    if (child !== undefined) await killHard(child);
  }

  /** SIGTERM (graceful, so --cpu-prof profiles are written), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    await Promise.all([...this.children.values()].map(async (child) => {
      if (!isRunning(child)) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(graceMs)]);
      await killHard(child);
    }));
    this.children.clear();
    await this.redis?.stop();
    this.redis = undefined;
  }
}
