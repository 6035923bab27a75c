/**
 * Chaos with real processes (issue 8 item 3): a real redis-server, three
 * `corral node` processes in test mode (they honour fault commands from the
 * Redis control stream), and live clients recording histories on the wall
 * clock. Faults are real: kill -9, SIGSTOP/SIGCONT, Redis killed and
 * restarted, transport partitions through `publishFault`.
 *
 * Every run writes to test/.artifacts/chaos/<timestamp>/ (node logs, data
 * directories, histories); a passing run deletes it, a failing run keeps it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { formatClusterKeyLine, publishFault, type FaultCommand } from "@corral/actors";
import { connect, type CorralClient } from "@corral/client";
import { ErrorCode, type CorralError } from "@corral/protocol";
import { UNKNOWN } from "../support/linearizability/index.js";
import { freePort, startRedis, type TestRedis } from "../support/redis.js";
import { HistoryRecorder, checkHistories } from "../sim/checkers/history.js";
import { Violations } from "../sim/checkers/violation.js";

const ROOT = resolve(import.meta.dirname, "../..");
export const ARTIFACTS_ROOT = join(ROOT, "test/.artifacts/chaos");

export interface NodeProcess {
  readonly id: string;
  readonly adminPort: number;
  child: ChildProcess | undefined;
  /** Set while we expect the process to be gone (we killed it). */
  expectingExit: boolean;
  stopped: boolean;
}

export interface NodeStatusJson {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly digest: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export class ChaosCluster {
  readonly nodes: NodeProcess[];
  readonly cluster: string;
  readonly violations = new Violations(50);
  readonly faults: Record<string, number> = {};
  private control: Redis | undefined;

  private constructor(
    readonly dir: string,
    readonly redis: TestRedis,
    ports: number[],
  ) {
    this.cluster = `chaos${Date.now().toString(36)}`;
    this.nodes = ports.map((adminPort, i) => ({ id: `n${i + 1}`, adminPort, child: undefined, expectingExit: false, stopped: false }));
  }

  static async start(dir: string): Promise<ChaosCluster> {
    mkdirSync(dir, { recursive: true });
    // A fixed key is fine here: the chaos Redis is a throwaway on loopback.
    writeFileSync(join(dir, "cluster.key"), `${formatClusterKeyLine({ id: "chaos", secret: new Uint8Array(32).fill(0x5a) })}\n`, { mode: 0o600 });
    const redis = await startRedis();
    const ports = [await freePort(), await freePort(), await freePort()];
    const cluster = new ChaosCluster(dir, redis, ports);
    for (const node of cluster.nodes) cluster.spawnNode(node);
    return cluster;
  }

  count(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  spawnNode(node: NodeProcess): void {
    const log = createWriteStream(join(this.dir, `${node.id}.log`), { flags: "a" });
    const args = [
      "--conditions=@corral/source",
      "--import",
      "tsx",
      join(ROOT, "packages/cli/src/main.ts"),
      "node",
      "--id",
      node.id,
      "--peers",
      this.nodes.map((n) => n.id).join(","),
      "--redis",
      this.redis.url,
      "--cluster",
      this.cluster,
      "--cluster-key-file",
      join(this.dir, "cluster.key"),
      "--data",
      join(this.dir, "data", node.id),
      "--admin-port",
      String(node.adminPort),
      "--log-level",
      "info",
      "--test-mode",
      "--stop-on-stdin-close",
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    node.child = child;
    node.expectingExit = false;
    child.on("exit", (code, signal) => {
      if (node.child === child) node.child = undefined;
      if (!node.expectingExit) this.violations.add("crash", `${node.id} exited unexpectedly (code ${code}, signal ${signal}); see ${node.id}.log`);
    });
  }

  async status(node: NodeProcess): Promise<NodeStatusJson | undefined> {
    if (node.child === undefined || node.stopped) return undefined;
    try {
      const response = await fetch(`http://127.0.0.1:${node.adminPort}/status`, { signal: AbortSignal.timeout(1_000) });
      return (await response.json()) as NodeStatusJson;
    } catch {
      return undefined;
    }
  }

  async leader(): Promise<NodeProcess | undefined> {
    let best: { node: NodeProcess; term: number } | undefined;
    for (const node of this.nodes) {
      const status = await this.status(node);
      if (status?.role === "leader" && (best === undefined || status.term > best.term)) best = { node, term: status.term };
    }
    return best?.node;
  }

  async waitFor(predicate: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await predicate()) return true;
      await sleep(200);
    }
    return predicate();
  }

  async kill9(node: NodeProcess): Promise<void> {
    const child = node.child;
    if (child === undefined) return;
    node.expectingExit = true;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill("SIGKILL");
    await exited;
  }

  restart(node: NodeProcess): void {
    if (node.child !== undefined) return;
    this.spawnNode(node);
  }

  pause(node: NodeProcess): void {
    node.child?.kill("SIGSTOP");
    node.stopped = true;
  }

  resume(node: NodeProcess): void {
    node.child?.kill("SIGCONT");
    node.stopped = false;
  }

  async fault(command: FaultCommand): Promise<void> {
    this.control ??= new Redis(this.redis.url, { maxRetriesPerRequest: 2, lazyConnect: false });
    this.control.on("error", () => undefined);
    // Redis may just have restarted: retry a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        await publishFault(this.control, this.cluster, command);
        return;
      } catch (error) {
        if (attempt >= 10) throw error;
        await sleep(300);
      }
    }
  }

  async client(label: string): Promise<CorralClient> {
    return connect({
      cluster: this.cluster,
      redis: this.redis.url,
      nodes: this.nodes.map((n) => n.id),
      sessionTimeoutMs: 6_000,
      requestTimeoutMs: 4_000,
      connectTimeoutMs: 30_000,
    }).then((client) => {
      void label;
      return client;
    });
  }

  /** Every node up, same applied index and digest, nothing uncommitted left to apply. */
  async converged(timeoutMs: number): Promise<{ ok: boolean; statuses: (NodeStatusJson | undefined)[] }> {
    let statuses: (NodeStatusJson | undefined)[] = [];
    const ok = await this.waitFor(async () => {
      statuses = await Promise.all(this.nodes.map((n) => this.status(n)));
      const first = statuses[0];
      return first !== undefined && statuses.every((s) => s !== undefined && s.appliedIndex === first.appliedIndex && s.digest === first.digest && s.commitIndex === s.appliedIndex);
    }, timeoutMs);
    return { ok, statuses };
  }

  /** Log lines that betray an unhandled rejection or exception in a node. */
  unhandledInLogs(): string[] {
    const found: string[] = [];
    for (const node of this.nodes) {
      let text = "";
      try {
        text = readFileSync(join(this.dir, `${node.id}.log`), "utf8");
      } catch {
        continue;
      }
      for (const line of text.split("\n")) if (/unhandled|uncaught/i.test(line)) found.push(`${node.id}: ${line.slice(0, 300)}`);
    }
    return found;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      if (node.stopped) this.resume(node);
      await this.kill9(node);
    }
    this.control?.disconnect();
    await this.redis.stop();
  }

  writeArtifact(name: string, content: unknown): void {
    writeFileSync(join(this.dir, name), typeof content === "string" ? content : JSON.stringify(content, null, 1));
  }

  removeArtifacts(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function code(error: unknown): number | undefined {
  const value = (error as Partial<CorralError> | null)?.code;
  return typeof value === "number" ? value : undefined;
}

/**
 * Clients that record histories: register ops on a few keys (linearizable
 * reads) and unique creates under /acks whose acknowledgement must survive
 * every fault.
 */
export class ChaosWorkload {
  readonly history = new HistoryRecorder();
  readonly acknowledged = new Set<string>();
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly start = performance.now();
  clientsMade = 0;

  constructor(private readonly cluster: ChaosCluster) {}

  private now(): number {
    return performance.now() - this.start;
  }

  async setup(): Promise<void> {
    const client = await this.cluster.client("setup");
    await client.create("/acks").catch(() => undefined);
    await client.close();
  }

  run(clients: number): void {
    for (let i = 0; i < clients; i++) this.loops.push(this.loop(`w${i}`));
  }

  private async loop(name: string): Promise<void> {
    let written = 0;
    for (let incarnation = 0; this.running; incarnation++) {
      const label = `${name}.${incarnation}`;
      let client: CorralClient;
      try {
        client = await this.cluster.client(label);
        this.clientsMade++;
      } catch {
        await sleep(500);
        continue;
      }
      while (this.running && client.state !== "expired" && client.state !== "closed") {
        const path = `/k${written % 3}`;
        const roll = written++ % 4;
        if (roll === 0) {
          const ack = `${label}-${written}`;
          try {
            await client.create(`/acks/${ack}`);
            this.acknowledged.add(ack);
          } catch {
            // Unknown outcome: not acknowledged, so not required to be present.
          }
        } else if (roll === 1) {
          const done = this.history.callRegister(label, { type: "getData", path }, this.now());
          try {
            const { data, stat } = await client.getData(path, { linearizable: true });
            done({ code: "ok", data: new TextDecoder().decode(data), version: stat.version }, this.now());
          } catch (error) {
            done(code(error) === ErrorCode.NoNode ? { code: "NoNode" } : UNKNOWN, this.now());
          }
        } else {
          const data = `${label}:${written}`;
          const create = written % 7 === 0;
          const done = this.history.callRegister(label, create ? { type: "create", path, data } : { type: "setData", path, data, version: -1 }, this.now());
          try {
            if (create) {
              await client.create(path, data);
              done({ code: "ok" }, this.now());
            } else {
              const stat = await client.setData(path, data, -1);
              done({ code: "ok", version: stat.version }, this.now());
            }
          } catch (error) {
            const c = code(error);
            done(c === ErrorCode.NoNode ? { code: "NoNode" } : c === ErrorCode.NodeExists ? { code: "NodeExists" } : UNKNOWN, this.now());
          }
        }
        await sleep(20);
      }
      await client.close().catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** After healing: every acknowledged create is present; the histories are linearizable. */
  async check(violations: Violations): Promise<number> {
    const client = await this.cluster.client("checker");
    try {
      await client.sync("/acks");
      const { children } = await client.getChildren("/acks", { linearizable: true });
      const present = new Set(children);
      const missing = [...this.acknowledged].filter((ack) => !present.has(ack));
      if (missing.length > 0) violations.add("liveness", `${missing.length} acknowledged writes lost: ${missing.slice(0, 10).join(", ")}`);
    } finally {
      await client.close().catch(() => undefined);
    }
    return checkHistories(this.history, violations) + this.acknowledged.size;
  }
}
