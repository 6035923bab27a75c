/**
 * The client port, live: three node processes (runNode) over a real Redis,
 * each with a ZooKeeper-wire client port on loopback, driven by kazoo (the
 * python ZooKeeper client, Debian's python3-kazoo) exactly as it drives an
 * Apache ZooKeeper ensemble: basic ops, a data and a child watch, an
 * ephemeral-sequential node, transactions, addAuth with a digest ACL, the
 * same session resumed on another node, a wrong password, closeSession.
 * Skipped when /usr/bin/python3 cannot import kazoo.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatClusterKeyLine } from "@corral/actors";
import { freePort, startRedis, type TestRedis } from "../../../test/support/redis.js";
import { spawnNodeProcess, waitFor, type NodeProcess } from "./support/node-process.js";

const PYTHON = "/usr/bin/python3";
const kazooAvailable = spawnSync(PYTHON, ["-c", "import kazoo"], { stdio: "ignore" }).status === 0;
const kazooScript = fileURLToPath(new URL("./fixtures/kazoo-client.py", import.meta.url));

type KazooNode = NodeProcess & { readonly clientPort: number };

function runPython(args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!kazooAvailable)("client port with kazoo", () => {
  let redis: TestRedis;
  let dataRoot: string;
  const cluster = `kz${process.pid}`;
  const ids = ["n1", "n2", "n3"];
  const processes = new Map<string, KazooNode>();

  beforeAll(async () => {
    redis = await startRedis();
    dataRoot = await mkdtemp(join(tmpdir(), "corral-kazoo-"));
    await writeFile(join(dataRoot, "cluster.key"), `${formatClusterKeyLine({ id: "k1", secret: new Uint8Array(32).fill(7) })}\n`, { mode: 0o600 });
    for (const id of ids) {
      const clientPort = await freePort();
      const config = {
        nodeId: id,
        peers: ids,
        clusterName: cluster,
        redisUrl: redis.url,
        clusterKeyFile: join(dataRoot, "cluster.key"),
        dataDir: join(dataRoot, id),
        adminPort: 0,
        clientPort,
        logLevel: "warn",
        tuning: { tickMs: 10, electionTicks: 20, heartbeatTicks: 3 },
      };
      processes.set(id, Object.assign(spawnNodeProcess(id, config), { clientPort }));
    }
    const leaderUp = await waitFor(async () => {
      for (const node of processes.values()) {
        if (node.adminUrl === undefined) continue;
        try {
          const status = (await (await fetch(`${node.adminUrl}/status`)).json()) as { role: string };
          if (status.role === "leader") return true;
        } catch (_error) {
          // not up yet
        }
      }
      return false;
    }, 60_000);
    if (!leaderUp) throw new Error([...processes.values()].map((n) => `${n.id}: ${n.output.slice(-800)}`).join("\n"));
  }, 90_000);

  afterAll(async () => {
    for (const node of processes.values()) if (node.child.exitCode === null) node.child.kill("SIGKILL");
    await redis?.stop();
    if (dataRoot !== undefined) await rm(dataRoot, { recursive: true, force: true });
  });

  it("kazoo connects to the connect string and runs ZooKeeper's API against the ensemble", async () => {
    const connectString = ids.map((id) => `127.0.0.1:${processes.get(id)!.clientPort}`).join(",");
    const other = `127.0.0.1:${processes.get("n3")!.clientPort}`;
    const first = `127.0.0.1:${processes.get("n1")!.clientPort}`;
    const run = await runPython([kazooScript, first, other], 120_000);
    const describe = `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr.slice(-4000)}\nnodes:\n${[...processes.values()].map((n) => `${n.id}: ${n.output.slice(-600)}`).join("\n")}`;
    expect(run.code, describe).toBe(0);
    const out = JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    expect(out, describe).toMatchObject({
      connected: true,
      passwordBytes: 16,
      create: "/kz",
      get: ["hello", 0],
      setVersion: 1,
      badVersion: true,
      exists: true,
      existsMissing: true,
      nodeExists: true,
      children: ["a", "b"],
      childrenAfterDelete: ["a"],
      noNode: true,
      watchFired: true,
      watchEvents: [["CHANGED", "/kz/a"]],
      childWatchFired: true,
      ephemeralOwner: true,
      transaction: ["/kz/t1", "ZnodeStat", "bool"],
      failedTransaction: ["RolledBackError", "BadVersionError"],
      t2Absent: true,
      authRead: "mine",
      otherDenied: true,
      resumedSameSession: true,
      ephemeralSurvivesMove: true,
      readAfterMove: "m",
      badPasswordGotNewSession: true,
      ephemeralGoneAfterClose: true,
    });
    expect(out["ephemeralSequential"]).toMatch(/^\/kz\/e-\d{10}$/);
    expect(connectString.split(",")).toHaveLength(3);
  }, 150_000);
});
