import { describe, expect, it } from "vitest";
import { CreateMode, Perms } from "@corral/protocol";
import { ShellInterpreter, parseAcl, formatAcl, tokenize, ShellSyntaxError, AclSyntaxError } from "@corral/cli";
import { runOneCommand } from "../src/commands/shell.js";
import { FakeClient } from "./fake-client.js";

function setup(options: { status?: () => Promise<{ lines: string[]; healthy: boolean }>; maxSubtreeNodes?: number } = {}) {
  const client = new FakeClient();
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (line: string) => out.push(line), err: (line: string) => err.push(line) };
  const shell = new ShellInterpreter({ client, io, ...options });
  const run = async (line: string) => {
    out.length = 0;
    err.length = 0;
    return shell.execute(line);
  };
  return { client, out, err, io, shell, run };
}

describe("tokenize", () => {
  it("splits on whitespace and honours quotes and escapes", () => {
    expect(tokenize(`create /a "hello world"`)).toEqual(["create", "/a", "hello world"]);
    expect(tokenize(`set /a 'it''s' x\\ y ""`)).toEqual(["set", "/a", "its", "x y", ""]);
    expect(tokenize(`  get   /a  `)).toEqual(["get", "/a"]);
    expect(tokenize(`set /a "say \\"hi\\""`)).toEqual(["set", "/a", 'say "hi"']);
  });
  it("rejects an unterminated quote with a typed error", () => {
    expect(() => tokenize(`create /a "oops`)).toThrow(ShellSyntaxError);
  });
});

describe("ACL syntax", () => {
  it("parses zk syntax, digest ids with a colon included", () => {
    expect(parseAcl("world:anyone:cdrwa,digest:u:hash=:r")).toEqual([
      { id: { scheme: "world", id: "anyone" }, perms: Perms.ALL },
      { id: { scheme: "digest", id: "u:hash=" }, perms: Perms.READ },
    ]);
    expect(formatAcl(parseAcl("digest:u:h:rw,ip:10.0.0.1:a"))).toBe("digest:u:h:rw,ip:10.0.0.1:a");
  });
  it("rejects unknown permissions and missing parts", () => {
    expect(() => parseAcl("world:anyone:rx")).toThrow(AclSyntaxError);
    expect(() => parseAcl("world:anyone:")).toThrow(AclSyntaxError);
    expect(() => parseAcl("world")).toThrow(AclSyntaxError);
  });
});

describe("shell commands", () => {
  it("create, get, set, stat, delete", async () => {
    const { run, out, err, client } = setup();
    expect(await run("create /a hello")).toEqual({ ok: true, quit: false });
    expect(out).toEqual(["Created /a"]);
    await run("get /a");
    expect(out).toEqual(["hello"]);
    expect((await run("set /a world")).ok).toBe(true);
    await run("get -s /a");
    expect(out[0]).toBe("world");
    expect(out).toContain("version = 1");
    expect(out).toContain("dataLength = 5");
    await run("stat /a");
    expect(out).toHaveLength(11);
    expect(out[0]).toMatch(/^czxid = \d+$/);
    expect((await run("delete /a")).ok).toBe(true);
    expect(client.calls).toContain("delete /a v=-1");
    expect(err).toEqual([]);
  });

  it("prints typed server errors with code name and number", async () => {
    const { run, err } = setup();
    expect(await run("get /missing")).toEqual({ ok: false, quit: false, error: "NoNode" });
    expect(err).toEqual(["NoNode (-101): the node does not exist: /missing"]);
    await run("create /a");
    expect((await run("create /a")).error).toBe("NodeExists");
    expect(err[0]).toMatch(/^NodeExists \(-110\)/);
    expect((await run("set -v 7 /a x")).error).toBe("BadVersion");
    await run("create /a/b");
    expect((await run("delete /a")).error).toBe("NotEmpty");
    expect((await run("stat /nope")).error).toBe("NoNode");
  });

  it("create flags choose the mode; conflicting flags are usage errors", async () => {
    const { run, out, err, client } = setup();
    await run("create -s /q- x");
    expect(out).toEqual(["Created /q-0000000000"]);
    await run("create -e -s /q- x");
    expect(out).toEqual(["Created /q-0000000001"]);
    await run("create -c /c");
    await run("create -t 500 /t");
    await run("create -s -t 500 /ts-");
    await run("create -e /e");
    expect(client.calls).toEqual([
      `create /q- mode=${CreateMode.PersistentSequential}`,
      `create /q- mode=${CreateMode.EphemeralSequential}`,
      `create /c mode=${CreateMode.Container}`,
      `create /t mode=${CreateMode.PersistentWithTTL} ttl=500`,
      `create /ts- mode=${CreateMode.PersistentSequentialWithTTL} ttl=500`,
      `create /e mode=${CreateMode.Ephemeral}`,
    ]);
    expect((await run("create -c -e /x")).error).toBe("Usage");
    expect(err).toEqual(["-c cannot be combined with -e, -s or -t", "usage: create [-e] [-s] [-c] [-t ttl] path [data] [acl]"]);
    expect((await run("create -e -t 5 /x")).error).toBe("Usage");
    expect((await run("create -t soon /x")).error).toBe("Usage");
    expect((await run("create -t 0 /x")).error).toBe("Usage");
  });

  it("usage errors: unknown option, missing and extra arguments, unknown command, syntax", async () => {
    const { run, err } = setup();
    expect((await run("get -x /a")).error).toBe("Usage");
    expect(err).toEqual(["unknown option -x", "usage: get [-s] [-w] path"]);
    expect((await run("get")).error).toBe("Usage");
    expect((await run("get /a /b")).error).toBe("Usage");
    expect((await run("set -v")).error).toBe("Usage");
    expect(await run("frobnicate /a")).toEqual({ ok: false, quit: false, error: "UnknownCommand" });
    expect(err).toEqual(['unknown command "frobnicate" (try help)']);
    expect((await run('get "/a')).error).toBe("Syntax");
    expect(await run("   ")).toEqual({ ok: true, quit: false });
  });

  it("-- lets data start with a dash", async () => {
    const { run, out } = setup();
    await run("create /a -- -5");
    await run("get /a");
    expect(out).toEqual(["-5"]);
  });

  it("ls, ls -s, ls -R list children sorted", async () => {
    const { run, out } = setup();
    for (const path of ["/b", "/a", "/a/y", "/a/x", "/a/x/1"]) await run(`create ${path}`);
    await run("ls /");
    expect(out).toEqual(["[a, b]"]);
    await run("ls -s /a");
    expect(out[0]).toBe("[x, y]");
    expect(out).toContain("numChildren = 2");
    await run("ls -R /a");
    expect(out).toEqual(["/a", "/a/x", "/a/x/1", "/a/y"]);
  });

  it("deleteall removes a subtree, bounded by maxSubtreeNodes", async () => {
    const { run, out, client } = setup();
    for (const path of ["/a", "/a/b", "/a/b/c", "/a/d", "/z"]) await run(`create ${path}`);
    expect((await run("deleteall /a")).ok).toBe(true);
    await run("ls /");
    expect(out).toEqual(["[z]"]);
    expect(client.calls.filter((call) => call.startsWith("delete")).map((call) => call.split(" ")[1])).toEqual(["/a/d", "/a/b/c", "/a/b", "/a"]);

    const small = setup({ maxSubtreeNodes: 2 });
    for (const path of ["/a", "/a/b", "/a/c"]) await small.run(`create ${path}`);
    expect((await small.run("deleteall /a")).error).toBe("SubtreeTooLarge");
    await small.run("ls /a");
    expect(small.out).toEqual(["[b, c]"]);
  });

  it("binary data prints as hex", async () => {
    const { client, run, out } = setup();
    await client.create("/bin", new Uint8Array([0, 1, 255]));
    await run("get /bin");
    expect(out).toEqual(["0x0001ff"]);
  });

  it("getAcl / setAcl round-trip in zk syntax; a bad ACL is a usage error", async () => {
    const { run, out } = setup();
    await run("create /a");
    await run("getAcl /a");
    expect(out).toEqual(["world:anyone:cdrwa"]);
    expect((await run("setAcl /a world:anyone:r,digest:u:abc=:cdrwa")).ok).toBe(true);
    await run("getAcl /a");
    expect(out).toEqual(["world:anyone:r", "digest:u:abc=:cdrwa"]);
    expect((await run("setAcl /a world:anyone:z")).error).toBe("Usage");
    expect((await run("setAcl -v 5 /a world:anyone:r")).error).toBe("BadVersion");
  });

  it("addauth and whoami", async () => {
    const { run, out, client } = setup();
    expect((await run("addauth digest alice:secret")).ok).toBe(true);
    expect(client.auth).toEqual(["alice:secret"]);
    await run("whoami");
    expect(out).toEqual(["session: 0x1234", "state: connected", "identities:", "  world:anyone", "  digest:alice"]);
    expect((await run("addauth ip 1.2.3.4")).error).toBe("Usage");
    expect((await run("addauth digest nocolon")).error).toBe("Usage");
  });

  it("get -w fires once; watch is persistent, -R covers the subtree; unwatch and close remove them", async () => {
    const { run, out, client, shell } = setup();
    await run("create /a v0");
    await run("get -w /a");
    out.length = 0;
    await client.setData("/a", "v1");
    await client.setData("/a", "v2");
    expect(out).toEqual([expect.stringMatching(/^WATCHER:: NodeDataChanged \/a \(zxid \d+\)$/)]);

    await run("watch /a");
    expect(out).toEqual(["watching /a"]);
    out.length = 0;
    await client.setData("/a", "v3");
    await client.setData("/a", "v4");
    expect(out.filter((line) => line.startsWith("WATCH::"))).toHaveLength(2);

    await run("watch -R /a");
    out.length = 0;
    await client.create("/a/child");
    // The recursive watch sees the new child; the plain persistent one on /a sees its children change.
    expect(out).toEqual([expect.stringMatching(/^WATCH -R:: NodeCreated \/a\/child/), expect.stringMatching(/^WATCH:: NodeChildrenChanged \/a /)]);
    expect((await run("unwatch /a")).ok).toBe(true);
    expect(client.persistentWatchCount).toBe(0);
    expect((await run("unwatch /a")).error).toBe("Usage");

    await run("watch /a");
    await shell.close();
    expect(client.persistentWatchCount).toBe(0);
  });

  it("sync, help, quit", async () => {
    const { run, out } = setup();
    await run("sync /");
    expect(out).toEqual(["Sync is OK"]);
    await run("help");
    expect(out.length).toBeGreaterThan(15);
    expect(out.some((line) => line.startsWith("setAcl [-v version] path acl"))).toBe(true);
    await run("help get");
    expect(out).toEqual([expect.stringMatching(/^get \[-s\] \[-w\] path/)]);
    expect(await run("quit")).toEqual({ ok: true, quit: true });
    expect(await run("exit")).toEqual({ ok: true, quit: true });
  });

  it("status prints the provider's table; unhealthy or missing is an error", async () => {
    const healthy = setup({ status: () => Promise.resolve({ lines: ["ID ROLE", "n1 leader"], healthy: true }) });
    expect((await healthy.run("status")).ok).toBe(true);
    expect(healthy.out).toEqual(["ID ROLE", "n1 leader"]);
    const sick = setup({ status: () => Promise.resolve({ lines: ["n1 down"], healthy: false }) });
    expect((await sick.run("status")).error).toBe("Unhealthy");
    const none = setup();
    expect((await none.run("status")).error).toBe("Usage");
  });

  it("completes command names and child paths", async () => {
    const { run, shell } = setup();
    for (const path of ["/app", "/apple", "/b", "/app/config"]) await run(`create ${path}`);
    expect(await shell.complete("ge")).toEqual([["get", "getAcl"], "ge"]);
    expect(await shell.complete("get /ap")).toEqual([["/app", "/apple"], "/ap"]);
    expect(await shell.complete("ls /app/c")).toEqual([["/app/config"], "/app/c"]);
    expect(await shell.complete("ls /missing/x")).toEqual([[], "/missing/x"]);
  });
});

describe("corral shell -c exit codes", () => {
  it("0 on success, 1 on a server error, 2 on bad usage", async () => {
    const { client, io } = setup();
    expect(await runOneCommand(client, io, "create /a hello")).toBe(0);
    expect(await runOneCommand(client, io, "get /nope")).toBe(1);
    expect(await runOneCommand(client, io, "get")).toBe(2);
    expect(await runOneCommand(client, io, "nonsense")).toBe(2);
  });
});

describe("the shell's connection target", () => {
  it("uses the nodes' client ports from ensemble.json (TCP, never Redis), and Redis only when asked for", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeEnsembleFile } = await import("../src/ensemble-file.js");
    const { resolveShellTarget } = await import("../src/commands/shell.js");
    const dataDir = mkdtempSync(join(tmpdir(), "corral-shell-target-"));
    const node = (id: string, port: number) => ({ id, adminUrl: `http://127.0.0.1:${port + 1000}`, pid: 1, clientAddress: `127.0.0.1:${port}` });
    writeEnsembleFile(dataDir, { version: 1, cluster: "local", redisUrl: "redis://127.0.0.1:6379", nodes: [node("n1", 2181), node("n2", 2182)], upPid: 1, redisPid: null, startedAt: "2026-01-01T00:00:00.000Z" } as never);
    expect(resolveShellTarget({ data: dataDir }, {}).servers).toEqual(["127.0.0.1:2181", "127.0.0.1:2182"]);
    // Naming node ids means the Redis session protocol (node ids are Redis endpoints).
    expect(resolveShellTarget({ data: dataDir, nodes: "n1" }, {}).servers).toBeUndefined();
    expect(resolveShellTarget({ redis: "redis://127.0.0.1:6379", nodes: "n1,n2" }, {}).servers).toBeUndefined();
  });
});
