/**
 * The shell's history never keeps credentials (issue 13): `addauth` lines are
 * not written to the history file, not offered by the recall list (up
 * arrow), and not brought back from a file an older version wrote; the file
 * is the owner's only (0600), also when it existed with a looser mode.
 */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ShellInterpreter } from "@corral/cli";
import { isSensitiveLine, runRepl } from "../src/shell/repl.js";
import { FakeClient } from "./fake-client.js";

const UP = "\x1b[A";

async function session(historyFile: string, keys: readonly string[]): Promise<FakeClient> {
  const client = new FakeClient();
  const interpreter = new ShellInterpreter({ client, io: { out: () => undefined, err: () => undefined } });
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  const done = runRepl({ interpreter, input, output, prompt: "> ", historyFile });
  // Each key sequence is its own chunk: readline handles them in order, one line at a time.
  for (const chunk of keys) input.write(chunk);
  input.end();
  await done;
  return client;
}

describe("shell history and credentials", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("recognises addauth lines in any spelling", () => {
    for (const line of ["addauth digest a:b", "  ADDAUTH digest a:b", "AddAuth\tdigest a:b", "addauth"]) expect(isSensitiveLine(line), line).toBe(true);
    for (const line of ["ls /", "create /addauth x", "get /a addauth", "addauthx digest a:b"]) expect(isSensitiveLine(line), line).toBe(false);
  });

  it("writes no addauth line to the file (0600), and the up arrow never recalls one", async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-history-"));
    const file = join(dir, "shell_history");
    const client = await session(file, ["create /a x\r", "addauth digest alice:s3cret-pw\r", "  addauth digest bob:hunter2\r", `${UP}\r`, "quit\r"]);
    const text = await readFile(file, "utf8");
    expect(text).not.toMatch(/addauth|s3cret|hunter2/i);
    expect(text.split("\n").filter((line) => line !== "")).toEqual(["create /a x", "create /a x", "quit"]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Both credentials reached the client once each; the up arrow recalled the create, not an addauth.
    expect(client.auth).toEqual(["alice:s3cret-pw", "bob:hunter2"]);
    expect(client.calls.filter((call) => call.startsWith("create /a"))).toHaveLength(2);
  });

  it("does not bring back addauth lines from a file an older version wrote, and tightens its 0644 mode", async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-history-"));
    const file = join(dir, "shell_history");
    await writeFile(file, "ls /\naddauth digest old:leaked\n");
    await chmod(file, 0o644);
    // Up arrow once: the newest loaded line that is not a credential.
    const client = await session(file, [`${UP}\r`, "quit\r"]);
    expect(client.auth).toEqual([]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const lines = (await readFile(file, "utf8")).split("\n").filter((line) => line !== "");
    expect(lines.at(-2)).toBe("ls /");
    expect(lines.at(-1)).toBe("quit");
  });
});
