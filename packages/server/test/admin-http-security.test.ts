/**
 * Admin HTTP exposure (issue 13): no non-loopback bind without a bearer
 * token file, the token checked on every request, token files validated, and
 * the request-size bound applied.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nullLogger } from "@corral/actors";
import { AdminServerFailed, AdminTokenFileUnusable, InvalidNodeConfig, isLoopbackHost, loadAdminTokenFile, startAdminServer, validateRunNodeConfig } from "@corral/server";
import type { SimEnsemble } from "../../../test/support/sim-ensemble.js";
import { ensembleWithLeader } from "./helpers.js";

const TOKEN = "s3cr3t-admin-token-0123456789abcdef";

describe("admin HTTP exposure", () => {
  let ensemble: SimEnsemble;
  let dir: string;

  beforeAll(async () => {
    ensemble = await ensembleWithLeader({ seed: 1313 });
    dir = await mkdtemp(join(tmpdir(), "corral-admin-"));
  });
  afterAll(async () => {
    await ensemble.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("knows loopback from the rest", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "example.com", "128.0.0.1", "::ffff:10.0.0.1"]) expect(isLoopbackHost(host), host).toBe(false);
  });

  it("refuses a non-loopback bind without a token, at start and in the node's config", async () => {
    await expect(startAdminServer({ node: ensemble.leader()!, port: 0, host: "0.0.0.0", logger: nullLogger })).rejects.toBeInstanceOf(AdminServerFailed);
    await expect(startAdminServer({ node: ensemble.leader()!, port: 0, host: "127.0.0.1", token: "short", logger: nullLogger })).rejects.toBeInstanceOf(AdminServerFailed);
    const base = { nodeId: "n1", peers: "n1,n2,n3", redisUrl: "redis://127.0.0.1:6379", dataDir: "/tmp/x" };
    let error: unknown;
    try {
      validateRunNodeConfig({ ...base, adminHost: "0.0.0.0" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidNodeConfig);
    expect((error as InvalidNodeConfig).field).toBe("adminTokenFile");
    expect(validateRunNodeConfig({ ...base, adminHost: "0.0.0.0", adminTokenFile: "/etc/corral/admin.token" }).adminTokenFile).toBe("/etc/corral/admin.token");
    // Loopback needs none; no admin server needs none.
    expect(validateRunNodeConfig({ ...base, adminHost: "127.0.0.1" }).adminTokenFile).toBeNull();
    expect(validateRunNodeConfig({ ...base, adminHost: "0.0.0.0", adminPort: null }).adminPort).toBeNull();
  });

  it("with a token: 401 without it or with a wrong one (same or other length), 200 with it; also on a non-loopback bind", async () => {
    for (const host of ["127.0.0.1", "0.0.0.0"]) {
      const admin = await startAdminServer({ node: ensemble.leader()!, port: 0, host, token: TOKEN, logger: nullLogger });
      try {
        const url = admin.url.replace("0.0.0.0", "127.0.0.1");
        const none = await fetch(`${url}/status`);
        expect(none.status).toBe(401);
        expect(none.headers.get("www-authenticate")).toBe("Bearer");
        expect(await none.text()).not.toContain("term");
        for (const wrong of [`${TOKEN.slice(0, -1)}X`, "x", `${TOKEN}${TOKEN}`, ""]) {
          expect((await fetch(`${url}/status`, { headers: { authorization: `Bearer ${wrong}` } })).status, wrong).toBe(401);
        }
        expect((await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` } })).status).toBe(401);
        const ok = await fetch(`${url}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(ok.status).toBe(200);
        expect(((await ok.json()) as { role: string }).role).toBe("leader");
        expect((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      } finally {
        await admin.close();
      }
    }
  });

  it("bounds the request head (431 beyond maxHeaderBytes)", async () => {
    const admin = await startAdminServer({ node: ensemble.leader()!, port: 0, logger: nullLogger, limits: { maxHeaderBytes: 1024 } });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const request = httpRequest(`${admin.url}/health`, { headers: { "x-padding": "p".repeat(4096) } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on("error", reject);
        request.end();
      });
      expect(status).toBe(431);
    } finally {
      await admin.close();
    }
  });

  it("token files: first line trimmed; missing, short, spaced or oversized ones refused; a group/world-readable one warned about", async () => {
    const file = join(dir, "token");
    await writeFile(file, `  ${TOKEN}  \nsecond line ignored\n`, { mode: 0o600 });
    await chmod(file, 0o600);
    expect(loadAdminTokenFile(file)).toEqual({ token: TOKEN });
    await chmod(file, 0o644);
    const loose = loadAdminTokenFile(file);
    expect(loose.token).toBe(TOKEN);
    expect(loose.permissionWarning).toMatch(/readable by others.*644.*chmod 600/);
    let badFiles = 0;
    const refused = async (content: string | null, reason: RegExp): Promise<void> => {
      const path = join(dir, `bad-${++badFiles}`);
      if (content !== null) await writeFile(path, content, { mode: 0o600 });
      let error: unknown;
      try {
        loadAdminTokenFile(path);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AdminTokenFileUnusable);
      expect((error as AdminTokenFileUnusable).code).toBe("ADMIN_TOKEN_FILE_UNUSABLE");
      expect((error as Error).message).toMatch(reason);
      // The message never echoes the file's content.
      if (content !== null && content.trim().length > 0) expect((error as Error).message).not.toContain(content.trim().slice(0, 8));
    };
    await refused(null, /cannot read it \(ENOENT\)/);
    await refused("tooshort\n", /at least 16 characters/);
    await refused("\n", /at least 16 characters/);
    await refused("has a space in the token value\n", /spaces/);
    await refused("x".repeat(5000), /larger than 4096 bytes/);
  });
});
