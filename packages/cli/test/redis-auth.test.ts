/**
 * `corral up`'s own Redis is locked down, and the CLI takes Redis credentials
 * from files only (issue 13, docs/security.md):
 * - the password is 256 random bits in <data>/redis.password (0600), never on
 *   redis-server's command line; the default user is off, so an
 *   unauthenticated client can run nothing; the `corral` user reaches only
 *   the cluster's keys and Corral's commands, and a real node and client
 *   work with exactly that;
 * - `corral node` / `corral up` flags and env vars for user, password file
 *   and TLS files; a password inside a --redis URL is refused; ensemble.json
 *   records paths, never the password, and is 0600.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisAuthFailed, checkRedisCredentials, formatClusterKeyLine, loadRedisAuth, nullLogger, redisOptionsFromUrl } from "@corral/actors";
import { connect } from "@corral/client";
import { runNode, type RunningNode } from "@corral/server";
import { ConfigError, UsageError, decodeEnsembleRecord, readEnsembleFile, resolveNodeCommandConfig, writeEnsembleFile } from "@corral/cli";
import { parseUpArgs, redisAuthArgs } from "../src/commands/up.js";
import { CORRAL_REDIS_COMMANDS, LOCAL_REDIS_PASSWORD_FILE, clientRedisOptions, findRedisServer, localRedisAclRule, startLocalRedis, type LocalRedis } from "../src/redis-local.js";

/** Send RESP commands on one connection; the raw replies, one line each (enough for status, error and integer replies). */
function resp(port: number, commands: readonly (readonly string[])[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let buffer = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no full reply: ${JSON.stringify(buffer)}`));
    }, 5_000);
    socket.on("error", reject);
    socket.on("data", (data) => {
      buffer += data.toString("utf8");
      // One reply per command: a status, error or integer line, or a bulk string (its "$n" line, then the value).
      const lines: string[] = [];
      const raw = buffer.split("\r\n");
      for (let i = 0; i < raw.length - 1; i++) {
        const line = raw[i]!;
        if (/^\$\d/.test(line)) lines.push(raw[++i] ?? "");
        else if (/^[+\-:]/.test(line)) lines.push(line);
      }
      if (lines.length >= commands.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(lines.slice(0, commands.length));
      }
    });
    socket.on("connect", () => {
      for (const command of commands) socket.write(`*${command.length}\r\n${command.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`);
    });
  });
}

describe("corral up's own Redis", () => {
  const binary = findRedisServer(process.env);
  let dir: string;
  let redis: LocalRedis | undefined;
  let node: RunningNode | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-up-redis-"));
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("the ACL rule: the cluster's keys, no channels, Corral's commands only, the password by its hash", () => {
    const rule = localRedisAclRule("c1", "a".repeat(64));
    expect(rule).toEqual(["corral", "reset", "on", `#${"a".repeat(64)}`, "~corral:{c1}:*", "~corral:c1:admin", "resetchannels", "-@all", ...CORRAL_REDIS_COMMANDS.map((c) => `+${c}`)]);
    expect(CORRAL_REDIS_COMMANDS).not.toContain("config");
    expect(() => localRedisAclRule("c*", "a".repeat(64))).toThrow();
  });

  it.skipIf(binary === undefined)("refuses unauthenticated clients and wrong passwords; the corral user reaches only its cluster; a node and a client work with it", async () => {
    redis = await startLocalRedis(binary!, { dataDir: dir, cluster: "c1" });
    const port = Number(new URL(redis.url).port);
    // The password: 256 bits, base64url, in a 0600 file; not on the server's command line.
    expect(redis.passwordFile).toBe(join(dir, LOCAL_REDIS_PASSWORD_FILE));
    expect((await stat(redis.passwordFile)).mode & 0o777).toBe(0o600);
    const password = (await readFile(redis.passwordFile, "utf8")).trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cmdline = await readFile(`/proc/${redis.pid}/cmdline`, "utf8").catch(() => "");
    expect(cmdline).not.toContain(password);

    // ioredis without credentials, and with a wrong password: refused (RedisAuthFailed), not merely unreachable.
    await expect(checkRedisCredentials(redis.url, {})).rejects.toBeInstanceOf(RedisAuthFailed);
    await expect(checkRedisCredentials(redis.url, { username: "corral", password: "guess" })).rejects.toBeInstanceOf(RedisAuthFailed);
    await expect(checkRedisCredentials(redis.url, { password })).rejects.toBeInstanceOf(RedisAuthFailed);
    const auth = { user: redis.user, passwordFile: redis.passwordFile };
    expect(await checkRedisCredentials(redis.url, loadRedisAuth(redis.url, auth).options)).toBe("ok");

    // By hand: nothing without AUTH; with it, only the cluster's keys and Corral's commands.
    expect(await resp(port, [["XADD", "corral:{c1}:in:n1", "*", "f", "x"], ["KEYS", "*"]])).toEqual([expect.stringMatching(/^-NOAUTH/), expect.stringMatching(/^-NOAUTH/)]);
    const replies = await resp(port, [
      ["AUTH", "corral", password],
      ["XADD", "corral:{c1}:in:n1", "*", "f", "x"],
      ["XADD", "corral:{c2}:in:n1", "*", "f", "x"],
      ["SET", "corral:{c1}:x", "1"],
      ["KEYS", "*"],
      ["CONFIG", "GET", "requirepass"],
      ["FLUSHALL"],
      ["SUBSCRIBE", "corral:{c1}:x"],
      ["ACL", "LIST"],
    ]);
    expect(replies[0]).toBe("+OK");
    expect(replies[1]).toMatch(/^\d+-\d+$/);
    for (const reply of replies.slice(2)) expect(reply).toMatch(/^-NOPERM/);

    // A real node and client as that user: the command list is enough for Corral.
    const keyFile = join(dir, "cluster.key");
    await writeFile(keyFile, `${formatClusterKeyLine({ id: "k1", secret: new Uint8Array(32).fill(3) })}\n`, { mode: 0o600 });
    node = await runNode(
      { nodeId: "n1", peers: ["n1"], clusterName: "c1", redisUrl: redis.url, redisAuth: auth, clusterKeyFile: keyFile, dataDir: join(dir, "n1"), adminPort: null, logLevel: "silent", tuning: { tickMs: 10, electionTicks: 20, heartbeatTicks: 3 } },
      { logger: nullLogger },
    );
    const giveUpAt = performance.now() + 15_000;
    while (node.node.status().role !== "leader") {
      if (performance.now() > giveUpAt) throw new Error("no leader");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const client = await connect({ cluster: "c1", redis: clientRedisOptions(redis.url, auth), nodes: ["n1"], sessionTimeoutMs: 6_000 });
    try {
      await client.create("/up-redis", "ok");
      expect(new TextDecoder().decode((await client.getData("/up-redis")).data)).toBe("ok");
    } finally {
      await client.close();
    }
  });
});

describe("Redis credentials on the command line", () => {
  it("corral node: user, password file and TLS files from flags or env; a password in the URL refused", () => {
    const base = { id: "n1", peers: "n1", "cluster-key-file": "/k" };
    const config = resolveNodeCommandConfig({ ...base, redis: "rediss://r:6380", "redis-user": "corral", "redis-tls-ca": "/ca.pem", "redis-tls-servername": "redis.test" }, { CORRAL_REDIS_PASSWORD_FILE: "/run/secrets/redis" });
    expect(config.redisAuth).toEqual({ user: "corral", passwordFile: "/run/secrets/redis", tlsCaFile: "/ca.pem", tlsServername: "redis.test" });
    expect(resolveNodeCommandConfig({ ...base, redis: "redis://r:6379" }, {}).redisAuth).toBeUndefined();
    for (const [flags, env] of [
      [{ ...base, redis: "redis://:hunter2@r:6379" }, {}],
      [base, { CORRAL_REDIS: "redis://u:hunter2@r:6379" }],
    ] as const) {
      let error: unknown;
      try {
        resolveNodeCommandConfig(flags, env);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/--redis-password-file/);
      expect((error as Error).message).not.toContain("hunter2");
    }
  });

  it("corral up: the same flags for --redis, absolute paths handed to the nodes; a password in the URL refused", () => {
    const flags = parseUpArgs(["--redis", "rediss://r:6380", "--redis-user", "corral", "--redis-password-file", "pw", "--redis-tls-ca", "/ca.pem"], {});
    if (flags === "help") throw new Error("help");
    expect(flags.redisAuth).toEqual({ user: "corral", passwordFile: join(process.cwd(), "pw"), tlsCaFile: "/ca.pem" });
    expect(redisAuthArgs(flags.redisAuth)).toEqual(["--redis-user", "corral", "--redis-password-file", join(process.cwd(), "pw"), "--redis-tls-ca", "/ca.pem"]);
    expect(() => parseUpArgs(["--redis", "redis://:hunter2@r:6379"], {})).toThrow(UsageError);
    expect(() => parseUpArgs(["--redis-password-file", "pw"], {})).toThrow(UsageError);
    expect(clientRedisOptions("redis://r:1", {})).toBe("redis://r:1");
  });

  it("ensemble.json records the user and file paths, never a password, and is 0600", async () => {
    const dir = await mkdtemp(join(tmpdir(), "corral-ensemble-"));
    try {
      const record = {
        version: 1 as const,
        cluster: "c1",
        redisUrl: "redis://127.0.0.1:7000",
        redisAuth: { user: "corral", passwordFile: join(dir, "redis.password") },
        nodes: [{ id: "n1", adminUrl: "http://127.0.0.1:1", pid: 1 }],
        upPid: 1,
        redisPid: 2,
        startedAt: "now",
      };
      const file = writeEnsembleFile(dir, record);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(readEnsembleFile(dir).redisAuth).toEqual(record.redisAuth);
      expect(() => decodeEnsembleRecord(file, { ...record, redisAuth: { password: "x" } })).toThrow(/redisAuth.password/);
      expect(redisOptionsFromUrl(record.redisUrl).password).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
