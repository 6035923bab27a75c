/**
 * Redis AUTH and TLS for nodes and clients (issue 13, docs/security.md).
 *
 * - Unit: what a log line may show of a Redis URL (redaction), and how
 *   credential and TLS files become connection options (and are refused).
 * - A node against a Redis with an ACL user: a wrong password stops the
 *   start with RedisAuthFailed (not a node that retries forever); the right
 *   one runs, and a client with the same credentials works.
 * - TLS (rediss://) with a CA made by openssl: a node and a client with the
 *   CA, a client certificate and a server name work; a node trusting another
 *   CA fails with RedisAuthFailed(kind tls); a server demanding client
 *   certificates refuses a node without one.
 */
import { createHash } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import {
  RedisAuthFailed,
  RedisCredentialsUnusable,
  checkRedisCredentials,
  formatClusterKeyLine,
  loadRedisAuth,
  nullLogger,
  readRedisPasswordFile,
  redactRedisUrl,
  redisOptionsFromUrl,
  redisUrlHasPassword,
  type RedisAuthFiles,
} from "@corral/actors";
import { connect } from "@corral/client";
import { runNode, type RunningNode } from "@corral/server";
import { startRedis, type TestRedis } from "../support/redis.js";
import { makeTestPki, startTlsRedis, tlsRedisAvailable, type TestPki, type TestTlsRedis } from "../support/redis-tls.js";

const encoder = new TextEncoder();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "corral-redis-auth-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, { mode });
  await chmod(path, mode);
  return path;
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("Redis URLs in logs and status", () => {
  it("redacts the password and any query string, keeps the rest", () => {
    expect(redactRedisUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
    expect(redactRedisUrl("redis://:hunter2@127.0.0.1:6379/0")).toBe("redis://:***@127.0.0.1:6379/0");
    expect(redactRedisUrl("rediss://alice:p%40ss@redis.example:6380")).toBe("rediss://alice:***@redis.example:6380");
    expect(redactRedisUrl("redis://host?password=hunter2")).toBe("redis://host?***");
    expect(redactRedisUrl("hunter2")).toBe("<not a URL>");
    for (const url of ["redis://:hunter2@h", "redis://u:hunter2@h/1?x=hunter2", "hunter2"]) expect(redactRedisUrl(url)).not.toContain("hunter2");
    expect(redisUrlHasPassword("redis://:x@h")).toBe(true);
    expect(redisUrlHasPassword("redis://u@h")).toBe(false);
  });
});

describe("credential and TLS files", () => {
  it("a password file: its first line; refused when empty or unreadable (never echoing content); a warning when others may read it", async () => {
    const file = await fileWith("pw", "  s3cret-pw  \nignored\n");
    expect(readRedisPasswordFile(file)).toEqual({ password: "s3cret-pw" });
    await chmod(file, 0o640);
    expect(readRedisPasswordFile(file).permissionWarning).toMatch(/readable by others.*640.*chmod 600/);
    const empty = await fileWith("empty", "\nsecond\n");
    const refused = thrown(() => readRedisPasswordFile(empty));
    expect(refused).toBeInstanceOf(RedisCredentialsUnusable);
    expect((refused as RedisCredentialsUnusable).code).toBe("REDIS_CREDENTIALS_UNUSABLE");
    expect(thrown(() => readRedisPasswordFile(join(dir, "missing")))).toBeInstanceOf(RedisCredentialsUnusable);
    const big = await fileWith("big", "x".repeat(10_000));
    expect((thrown(() => readRedisPasswordFile(big)) as Error).message).toMatch(/larger than 4096/);
    expect((thrown(() => readRedisPasswordFile(big)) as Error).message).not.toContain("xxxx");
  });

  it("loadRedisAuth: user + password file, TLS files; contradictions refused naming the setting", async () => {
    const pw = await fileWith("pw2", "s3cret\n");
    const pem = await fileWith("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const notPem = await fileWith("ca.txt", "hello");
    expect(loadRedisAuth("redis://h:1", {})).toEqual({ options: {}, warnings: [] });
    expect(loadRedisAuth("redis://h:1", { user: "corral", passwordFile: pw }).options).toEqual({ username: "corral", password: "s3cret" });
    const tls = loadRedisAuth("rediss://h:1", { tlsCaFile: pem, tlsCertFile: pem, tlsKeyFile: pem, tlsServername: "redis.test" }).options.tls!;
    expect(tls).toMatchObject({ ca: [expect.stringContaining("BEGIN CERTIFICATE")], servername: "redis.test" });
    const field = (url: string, files: RedisAuthFiles): string => {
      const error = thrown(() => loadRedisAuth(url, files));
      expect(error, JSON.stringify(files)).toBeInstanceOf(RedisCredentialsUnusable);
      return (error as RedisCredentialsUnusable).field;
    };
    expect(field("redis://:inline@h:1", { passwordFile: pw })).toBe("redisUrl");
    expect(field("redis://alice@h:1", { user: "bob", passwordFile: pw })).toBe("redisUrl");
    expect(field("redis://h:1", { user: "corral" })).toBe("user");
    expect(field("redis://h:1", { user: "has space", passwordFile: pw })).toBe("user");
    expect(field("redis://h:1", { tlsCaFile: pem })).toBe("tlsCaFile");
    expect(field("rediss://h:1", { tlsCertFile: pem })).toBe("tlsKeyFile");
    expect(field("rediss://h:1", { tlsKeyFile: pem })).toBe("tlsCertFile");
    expect(field("rediss://h:1", { tlsCaFile: notPem })).toBe("tlsCaFile");
    expect(field("rediss://h:1", { tlsServername: "bad name!" })).toBe("tlsServername");
    expect(field("http://h:1", {})).toBe("redisUrl");
  });

  it("redisOptionsFromUrl: host, port, db, TLS from the URL, credentials and TLS files merged in", () => {
    expect(redisOptionsFromUrl("redis://10.0.0.1:6380/2")).toEqual({ host: "10.0.0.1", port: 6380, db: 2 });
    expect(redisOptionsFromUrl("rediss://[::1]", { username: "u", password: "p", tls: { servername: "x" } })).toEqual({ host: "::1", port: 6379, username: "u", password: "p", tls: { servername: "x" } });
  });
});

/** One node on `url` with these credentials (its own data directory and cluster). */
async function oneNode(url: string, redisAuth: RedisAuthFiles, cluster: string): Promise<RunningNode> {
  const keyFile = await fileWith(`${cluster}.key`, `${formatClusterKeyLine({ id: "k1", secret: new Uint8Array(32).fill(7) })}\n`);
  return runNode(
    { nodeId: "n1", peers: ["n1"], clusterName: cluster, redisUrl: url, redisAuth, clusterKeyFile: keyFile, dataDir: join(dir, cluster), adminPort: null, logLevel: "silent", tuning: { tickMs: 10, electionTicks: 20, heartbeatTicks: 3 } },
    { logger: nullLogger },
  );
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const giveUpAt = performance.now() + 15_000;
  while (!condition()) {
    if (performance.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The node leads, and a client with the same credentials writes and reads back through it. */
async function serves(node: RunningNode, url: string, auth: RedisAuthFiles, cluster: string): Promise<void> {
  await waitFor(() => node.node.status().role === "leader", "a leader");
  const client = await connect({ cluster, redis: redisOptionsFromUrl(url, loadRedisAuth(url, auth).options), nodes: ["n1"], sessionTimeoutMs: 6_000 });
  try {
    await client.create("/auth", "ok");
    expect((await client.getData("/auth")).data).toEqual(encoder.encode("ok"));
  } finally {
    await client.close();
  }
}

describe("a node and a client on a Redis with an ACL user and password", () => {
  let redis: TestRedis | undefined;
  const nodes: RunningNode[] = [];
  const password = "correct horse battery staple 0123456789";
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await redis?.stop();
  });

  it("wrong password: the start fails with RedisAuthFailed; right password: it runs; unauthenticated clients are refused", async () => {
    const hash = createHash("sha256").update(password).digest("hex");
    // The password reaches redis-server only as its hash; the default user is off.
    redis = await startRedis({ backend: "binary", extraArgs: ["--user", "default", "reset", "--user", "corral", "on", `#${hash}`, "~*", "+@all"] });
    const good = await fileWith("redis.password", `${password}\n`);
    const bad = await fileWith("wrong.password", "not the password\n");

    const anonymous = new Redis(redis.url, { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    anonymous.on("error", () => undefined);
    await anonymous.connect().catch(() => undefined);
    await expect(anonymous.xadd("corral:{x}:in:n1", "*", "f", "evil")).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();

    const startedAt = performance.now();
    let failure: unknown;
    try {
      nodes.push(await oneNode(redis.url, { user: "corral", passwordFile: bad }, "wrongpw"));
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(RedisAuthFailed);
    expect((failure as RedisAuthFailed).kind).toBe("auth");
    expect((failure as Error).message).toMatch(/credentials refused: WRONGPASS/);
    expect((failure as Error).message).not.toContain("not the password");
    // Refused at once, not after a connect timeout.
    expect(performance.now() - startedAt).toBeLessThan(2_500);
    await expect(checkRedisCredentials(redis.url, {})).rejects.toBeInstanceOf(RedisAuthFailed);

    const node = await oneNode(redis.url, { user: "corral", passwordFile: good }, "rightpw");
    nodes.push(node);
    await serves(node, redis.url, { user: "corral", passwordFile: good }, "rightpw");
  });
});

describe("a node and a client over TLS (rediss://, a CA made by openssl)", async () => {
  const available = await tlsRedisAvailable();
  let pki: TestPki | undefined;
  let redis: TestTlsRedis | undefined;
  const nodes: RunningNode[] = [];
  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await redis?.stop();
  });

  it.skipIf(!available)("CA + client certificate + server name work; a stranger CA or no client certificate fail clearly", async () => {
    pki = await makeTestPki(dir);
    redis = await startTlsRedis(pki, { authClients: true });
    const full: RedisAuthFiles = { tlsCaFile: pki.caCert, tlsCertFile: pki.clientCert, tlsKeyFile: pki.clientKey, tlsServername: pki.serverName };

    const expectTlsFailure = async (files: RedisAuthFiles, cluster: string): Promise<void> => {
      let failure: unknown;
      try {
        nodes.push(await oneNode(redis!.url, files, cluster));
      } catch (error) {
        failure = error;
      }
      expect(failure, cluster).toBeInstanceOf(RedisAuthFailed);
      expect((failure as RedisAuthFailed).kind, cluster).toBe("tls");
    };
    // The server's certificate is not signed by the CA this node trusts.
    await expectTlsFailure({ ...full, tlsCaFile: pki.strangerCaCert }, "strangerca");
    // The server name does not match the certificate.
    await expectTlsFailure({ ...full, tlsServername: "other.test" }, "wrongname");
    // The server demands a client certificate this node does not present.
    await expectTlsFailure({ tlsCaFile: pki.caCert, tlsServername: pki.serverName }, "nocert");
    // A plaintext client on a TLS port gets nowhere (connection closed: unreachable, not ok).
    expect(await checkRedisCredentials(redis.url.replace("rediss:", "redis:"), {}, 1_000)).toBe("unreachable");

    const node = await oneNode(redis.url, full, "tls");
    nodes.push(node);
    await serves(node, redis.url, full, "tls");
  });
});
