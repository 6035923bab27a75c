import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ClusterKeyring, parseClusterKeyFile } from "@corral/actors";
import { runCli } from "@corral/cli";

const dir = mkdtempSync(join(tmpdir(), "corral-cli-keygen-"));

function io(): { cli: Parameters<typeof runCli>[1]; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  return { cli: { stdin: new PassThrough(), stdout, stderr, env: {} }, out: () => out, err: () => err };
}

describe("corral keygen", () => {
  it("prints a key file line of 32 random bytes, a fresh one each time", async () => {
    const a = io();
    const b = io();
    expect(await runCli(["keygen"], a.cli)).toBe(0);
    expect(await runCli(["keygen", "--id", "k2"], b.cli)).toBe(0);
    expect(a.out()).toMatch(/^k[0-9a-f]{8}:[A-Za-z0-9+/]{43}=\n$/);
    expect(b.out()).toMatch(/^k2:/);
    const keyring = parseClusterKeyFile(a.out() + b.out());
    expect(keyring).toBeInstanceOf(ClusterKeyring);
    expect((keyring as ClusterKeyring).keyIds).toHaveLength(2);
  });

  it("--out creates a 0600 file and never overwrites one", async () => {
    const file = join(dir, "cluster.key");
    expect(await runCli(["keygen", "--out", file], io().cli)).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const first = readFileSync(file, "utf8");
    expect(parseClusterKeyFile(first)).toBeInstanceOf(ClusterKeyring);
    const again = io();
    expect(await runCli(["keygen", "--out", file], again.cli)).toBe(2);
    expect(again.err()).toMatch(/exists; not overwriting a key/);
    expect(readFileSync(file, "utf8")).toBe(first);
    expect(await runCli(["keygen", "--id", "bad id"], io().cli)).toBe(2);
  });
});
