/**
 * The `corral` command as users run it: real processes, real Redis.
 * 3 `corral node` processes; `corral status` exit code as the leader probe;
 * `corral shell -c`; the interactive shell through a pseudo-terminal
 * (util-linux `script`); `corral up --no-shell` stopping cleanly on SIGTERM.
 * Every child is killed in afterAll, also when a test fails.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis, type TestRedis } from "../support/redis.js";

const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(ROOT, "packages/cli/src/main.ts");
const NODE_ARGS = ["--conditions=@corral/source", "--import", "tsx", MAIN];

const children = new Set<ChildProcess>();

function corral(args: readonly string[], options: { stdin?: "pipe" | "ignore" } = {}): ChildProcess {
  const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, stdio: [options.stdin ?? "ignore", "pipe", "pipe"], env: { ...process.env, CORRAL_CONFIG: "" } });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Run a corral command to completion (bounded). */
function run(args: readonly string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = corral(args);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, pauseMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolveDelay) => setTimeout(resolveDelay, pauseMs));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let redis: TestRedis;
let work: string;

beforeAll(async () => {
  redis = await startRedis();
  work = mkdtempSync(join(tmpdir(), "corral-cli-"));
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all([...children].map(exited));
  await redis?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("corral node / status / shell", () => {
  const ids = ["n1", "n2", "n3"];
  let admin = "";

  beforeAll(async () => {
    const ports = await Promise.all(ids.map(() => freePort()));
    admin = ids.map((id, index) => `${id}=http://127.0.0.1:${ports[index]}`).join(",");
    const keyFile = join(work, "cluster.key");
    expect((await run(["keygen", "--out", keyFile])).code).toBe(0);
    ids.forEach((id, index) => {
      const node = corral(["node", "--id", id, "--peers", ids.join(","), "--cluster", "clitest", "--redis", redis.url, "--cluster-key-file", keyFile, "--data", join(work, id), "--admin-port", String(ports[index]), "--log-level", "warn"]);
      node.stdout?.resume();
      node.stderr?.resume();
    });
    await until("a leader (corral status exit 0)", async () => ((await run(["status", "--admin", admin, "--timeout-ms", "1000"])).code === 0 ? true : undefined), 45_000, 500);
  });

  it("node refuses to start on Redis without a cluster key file (exit 2, naming the flag)", async () => {
    const result = await run(["node", "--id", "n1", "--peers", "n1,n2,n3", "--cluster", "nokey", "--redis", redis.url, "--data", join(work, "nokey"), "--log-level", "warn"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--cluster-key-file: a node on a Redis network needs a cluster key file/);
  });

  it("status prints one row per node and exits 0", async () => {
    const { code, stdout } = await run(["status", "--admin", admin]);
    expect(code).toBe(0);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+LAG\s+SESSIONS/);
    expect(lines.filter((line) => /^n\d\s+(leader|follower)/.test(line))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/^healthy: leader n\d, 3\/3 nodes up$/);
  });

  it("shell -c runs one command and exits with its outcome", async () => {
    const target = ["--redis", redis.url, "--cluster", "clitest", "--nodes", ids.join(",")];
    const created = await run(["shell", ...target, "-c", "create /a hello"]);
    expect(created.stderr).toBe("");
    expect(created).toMatchObject({ code: 0, stdout: "Created /a\n" });
    expect(await run(["shell", ...target, "-c", "get /a"])).toMatchObject({ code: 0, stdout: "hello\n" });
    const missing = await run(["shell", ...target, "-c", "get /missing"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^NoNode \(-101\)/);
    expect((await run(["shell", ...target, "-c", "get"])).code).toBe(2);
  });

  it("the interactive shell works through a pseudo-terminal", async () => {
    const command = [process.execPath, ...NODE_ARGS, "shell", "--redis", redis.url, "--cluster", "clitest", "--nodes", ids.join(",")].map((word) => `'${word}'`).join(" ");
    const child = spawn("script", ["-qfc", command, "/dev/null"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, TERM: "dumb" } });
    children.add(child);
    child.once("exit", () => children.delete(child));
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const waitFor = (pattern: RegExp): Promise<true> => until(`shell output ${pattern}`, () => Promise.resolve(pattern.test(output) ? true : undefined), 30_000, 50);

    await waitFor(/\[corral clitest\] /);
    child.stdin?.write("create /pty interactive\r");
    await waitFor(/Created \/pty/);
    child.stdin?.write("get /pty\r");
    await waitFor(/\r?\ninteractive\r?\n/);
    child.stdin?.write("get /nothing-here\r");
    await waitFor(/NoNode \(-101\)/);
    child.stdin?.write("quit\r");
    expect(await exited(child)).toBe(0);
  });
});

describe("corral up --no-shell", () => {
  it("starts an ensemble, records it, and stops cleanly on SIGTERM", async () => {
    const data = join(work, "up");
    const up = corral(["up", "--no-shell", "--nodes", "3", "--redis", redis.url, "--cluster", "uptest", "--data", data, "--log-level", "warn"]);
    let output = "";
    up.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    up.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const file = join(data, "ensemble.json");
    await until(`ensemble.json (output so far:\n${output})`, () => Promise.resolve(existsSync(file) ? true : undefined), 60_000);
    const record = JSON.parse(readFileSync(file, "utf8")) as { cluster: string; redisUrl: string; nodes: { id: string; pid: number }[]; upPid: number };
    expect(record).toMatchObject({ cluster: "uptest", redisUrl: redis.url, upPid: up.pid });
    expect(record.nodes.map((node) => node.id)).toEqual(["n1", "n2", "n3"]);

    // Other commands find it through --data alone.
    expect((await run(["status", "--data", data])).code).toBe(0);
    expect(await run(["shell", "--data", data, "-c", "create /up yes"])).toMatchObject({ code: 0, stdout: "Created /up\n" });

    up.kill("SIGTERM");
    expect(await exited(up)).toBe(0);
    expect(output).toMatch(/corral up: stopped/);
    expect(existsSync(file)).toBe(false);
    for (const node of record.nodes) expect(alive(node.pid)).toBe(false);
    // State persisted per node.
    for (const node of record.nodes) expect(existsSync(join(data, node.id))).toBe(true);
    // The nodes' shared cluster key, made by up and kept with their state.
    expect(statSync(join(data, "cluster.key")).mode & 0o777).toBe(0o600);
  });

  it("without a terminal on stdin (</dev/null) runs as --no-shell until SIGINT, then stops everything it started", async () => {
    const data = join(work, "up-no-tty");
    // No --no-shell and no --redis: stdin is /dev/null, and up starts its own redis-server.
    const up = corral(["up", "--nodes", "3", "--cluster", "notty", "--data", data, "--log-level", "warn"], { stdin: "ignore" });
    let output = "";
    up.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    up.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const file = join(data, "ensemble.json");
    await until(`ensemble running (output so far:\n${output})`, () => Promise.resolve(existsSync(file) && /ensemble running/.test(output) ? true : undefined), 60_000);
    expect(output).toMatch(/standard input is not a terminal, so no shell: running as --no-shell/);
    const record = JSON.parse(readFileSync(file, "utf8")) as { nodes: { pid: number }[]; redisPid: number | null };
    expect(record.redisPid).not.toBeNull();
    // Still running after the end of its stdin: the ensemble serves requests.
    expect(await run(["shell", "--data", data, "-c", "create /notty yes"])).toMatchObject({ code: 0, stdout: "Created /notty\n" });
    expect((await run(["status", "--data", data])).code).toBe(0);

    up.kill("SIGINT");
    expect(await exited(up)).toBe(0);
    expect(output).toMatch(/corral up: stopped/);
    expect(existsSync(file)).toBe(false);
    for (const node of record.nodes) expect(alive(node.pid)).toBe(false);
    expect(alive(record.redisPid ?? 0)).toBe(false);
  });
});
