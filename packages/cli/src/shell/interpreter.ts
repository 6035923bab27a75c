/**
 * The `corral shell` command interpreter: takes a Client and an output writer,
 * knows nothing of terminals (repl.ts adds readline, history and the prompt),
 * so every command can be tested against a fake or simulated client.
 *
 * Results go to `io.out`, failures to `io.err` as one line:
 *   `NoNode (-101): the node does not exist: /a`   (server errors: typed code name)
 *   `usage: get [-s] [-w] path`                      (bad arguments)
 */
import { AddWatchMode, CreateMode, WatcherType, isCorralError, joinPath, type ACL } from "@corral/protocol";
import type { Client, WatchedEvent, Watcher } from "@corral/client";
import { AclSyntaxError, formatAcl, parseAcl } from "./acl.js";
import { formatData, formatEvent, formatStat, hexId } from "./format.js";
import { ShellSyntaxError, tokenize } from "./tokenize.js";

export interface ShellIo {
  out(line: string): void;
  err(line: string): void;
}

export interface ShellOptions {
  readonly client: Client;
  readonly io: ShellIo;
  /** Renders the ensemble table for `status` (lines) and whether it is healthy; absent when no admin URLs are known. */
  readonly status?: () => Promise<{ readonly lines: readonly string[]; readonly healthy: boolean }>;
  /** Bound on the nodes `deleteall` removes and `ls -R` lists (default 100,000). */
  readonly maxSubtreeNodes?: number;
}

export interface CommandOutcome {
  readonly ok: boolean;
  /** `quit` / `exit` was given. */
  readonly quit: boolean;
  /** The typed name of the failure (a CorralError `_tag`, "Usage", "Syntax", "UnknownCommand", ...). */
  readonly error?: string;
}

/** A bad invocation of a shell command; printed with the command's usage. */
export class ShellUsageError extends Error {
  readonly _tag = "ShellUsageError" as const;
  constructor(
    readonly command: string,
    reason: string,
  ) {
    super(reason);
    this.name = "ShellUsageError";
  }
}

/** More nodes below a path than `maxSubtreeNodes`. */
export class SubtreeTooLarge extends Error {
  readonly _tag = "SubtreeTooLarge" as const;
  constructor(
    readonly path: string,
    readonly limit: number,
  ) {
    super(`more than ${limit} nodes under ${path}`);
    this.name = "SubtreeTooLarge";
  }
}

interface CommandSpec {
  readonly usage: string;
  readonly help: string;
  /** Flags without a value. */
  readonly booleans?: readonly string[];
  /** Flags followed by a value. */
  readonly valued?: readonly string[];
  readonly minArgs: number;
  readonly maxArgs: number;
}

export const COMMANDS = {
  ls: { usage: "ls [-s] [-R] path", help: "list the children of a node (-s: with its Stat, -R: the whole subtree)", booleans: ["-s", "-R"], minArgs: 1, maxArgs: 1 },
  get: { usage: "get [-s] [-w] path", help: "print a node's data (-s: and its Stat, -w: watch it once)", booleans: ["-s", "-w"], minArgs: 1, maxArgs: 1 },
  set: { usage: "set [-s] [-v version] path data", help: "set a node's data (-v: only at that version, -s: print the new Stat)", booleans: ["-s"], valued: ["-v"], minArgs: 2, maxArgs: 2 },
  create: {
    usage: "create [-e] [-s] [-c] [-t ttl] path [data] [acl]",
    help: "create a node (-e ephemeral, -s sequential, -c container, -t TTL in ms)",
    booleans: ["-e", "-s", "-c"],
    valued: ["-t"],
    minArgs: 1,
    maxArgs: 3,
  },
  delete: { usage: "delete [-v version] path", help: "delete a node (-v: only at that version)", valued: ["-v"], minArgs: 1, maxArgs: 1 },
  deleteall: { usage: "deleteall path", help: "delete a node and everything below it", minArgs: 1, maxArgs: 1 },
  stat: { usage: "stat path", help: "print a node's Stat", minArgs: 1, maxArgs: 1 },
  sync: { usage: "sync path", help: "wait until this node has every write the leader had committed", minArgs: 1, maxArgs: 1 },
  getAcl: { usage: "getAcl path", help: "print a node's ACL as scheme:id:perms", minArgs: 1, maxArgs: 1 },
  setAcl: { usage: "setAcl [-v version] path acl", help: "set a node's ACL, e.g. world:anyone:cdrwa,digest:u:hash:r", valued: ["-v"], minArgs: 2, maxArgs: 2 },
  addauth: { usage: "addauth digest user:password", help: "authenticate this session", minArgs: 2, maxArgs: 2 },
  watch: { usage: "watch [-R] path", help: "persistent watch on a node (-R: its whole subtree); events print as they come", booleans: ["-R"], minArgs: 1, maxArgs: 1 },
  unwatch: { usage: "unwatch path", help: "remove the watches this shell set on a node", minArgs: 1, maxArgs: 1 },
  whoami: { usage: "whoami", help: "print the session id, connection state and authenticated identities", minArgs: 0, maxArgs: 0 },
  status: { usage: "status", help: "print the ensemble's status table (from each node's /status)", minArgs: 0, maxArgs: 0 },
  help: { usage: "help [command]", help: "print this help", minArgs: 0, maxArgs: 1 },
  quit: { usage: "quit", help: "leave the shell (also: exit, Ctrl-D)", minArgs: 0, maxArgs: 0 },
  exit: { usage: "exit", help: "leave the shell", minArgs: 0, maxArgs: 0 },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

function isCommandName(word: string): word is CommandName {
  return Object.prototype.hasOwnProperty.call(COMMANDS, word);
}

interface ParsedArgs {
  readonly flags: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  readonly args: readonly string[];
}

/** Flags may appear anywhere before `--`; after it everything is an argument (data starting with "-"). */
export function parseCommandArgs(command: CommandName, words: readonly string[]): ParsedArgs {
  const spec: CommandSpec = COMMANDS[command];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const args: string[] = [];
  let literal = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (literal || !word.startsWith("-") || word === "-") {
      args.push(word);
    } else if (word === "--") {
      literal = true;
    } else if (spec.booleans?.includes(word) === true) {
      flags.add(word);
    } else if (spec.valued?.includes(word) === true) {
      const value = words[++i];
      if (value === undefined) throw new ShellUsageError(command, `${word} needs a value`);
      values.set(word, value);
    } else {
      throw new ShellUsageError(command, `unknown option ${word}`);
    }
  }
  if (args.length < spec.minArgs) throw new ShellUsageError(command, "missing arguments");
  if (args.length > spec.maxArgs) throw new ShellUsageError(command, "too many arguments");
  return { flags, values, args };
}

function parseInteger(command: string, flag: string, text: string, min: number): number {
  if (!/^-?\d+$/.test(text)) throw new ShellUsageError(command, `${flag} expects an integer, got "${text}"`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new ShellUsageError(command, `${flag} must be an integer >= ${min}, got ${text}`);
  return value;
}

export function createModeFor(command: string, flags: ReadonlySet<string>, ttl: boolean): CreateMode {
  const ephemeral = flags.has("-e");
  const sequential = flags.has("-s");
  const container = flags.has("-c");
  if (container && (ephemeral || sequential || ttl)) throw new ShellUsageError(command, "-c cannot be combined with -e, -s or -t");
  if (ephemeral && ttl) throw new ShellUsageError(command, "-t cannot be combined with -e");
  if (container) return CreateMode.Container;
  if (ttl) return sequential ? CreateMode.PersistentSequentialWithTTL : CreateMode.PersistentWithTTL;
  if (ephemeral) return sequential ? CreateMode.EphemeralSequential : CreateMode.Ephemeral;
  return sequential ? CreateMode.PersistentSequential : CreateMode.Persistent;
}

/** Describes any failure as one line; the typed name first so scripts can grep it. */
export function describeFailure(error: unknown): { readonly line: string; readonly tag: string } {
  if (isCorralError(error)) return { line: `${error._tag} (${error.code}): ${error.message}`, tag: error._tag };
  if (error instanceof ShellUsageError) return { line: `${error.message}\nusage: ${COMMANDS[error.command as CommandName]?.usage ?? error.command}`, tag: "Usage" };
  if (error instanceof ShellSyntaxError) return { line: `syntax error: ${error.message}`, tag: "Syntax" };
  if (error instanceof AclSyntaxError) return { line: error.message, tag: "Usage" };
  if (error instanceof SubtreeTooLarge) return { line: error.message, tag: error._tag };
  if (error instanceof Error) {
    const tag = (error as { _tag?: unknown })._tag;
    return { line: `${typeof tag === "string" ? tag : error.name}: ${error.message}`, tag: typeof tag === "string" ? tag : error.name };
  }
  return { line: `error: ${String(error)}`, tag: "Unknown" };
}

export class ShellInterpreter {
  private readonly client: Client;
  private readonly io: ShellIo;
  private readonly maxSubtreeNodes: number;
  /** Identities added with addauth, for whoami (the Client interface does not report them). */
  private readonly identities: string[] = [];
  /** Persistent watches this shell added, so `unwatch` and `close` can remove them. */
  private readonly watches = new Map<string, Watcher[]>();

  constructor(private readonly options: ShellOptions) {
    this.client = options.client;
    this.io = options.io;
    this.maxSubtreeNodes = options.maxSubtreeNodes ?? 100_000;
  }

  /** Run one line. Never throws: failures are printed to `io.err` and reported in the outcome. */
  async execute(line: string): Promise<CommandOutcome> {
    let words: string[];
    try {
      words = tokenize(line);
    } catch (error) {
      return this.fail(error);
    }
    const [name, ...rest] = words;
    if (name === undefined) return { ok: true, quit: false };
    if (!isCommandName(name)) {
      this.io.err(`unknown command "${name}" (try help)`);
      return { ok: false, quit: false, error: "UnknownCommand" };
    }
    try {
      const parsed = parseCommandArgs(name, rest);
      return await this.run(name, parsed);
    } catch (error) {
      return this.fail(error);
    }
  }

  /** readline-style completion: command names for the first word, child paths from the server for a path. */
  async complete(line: string): Promise<[string[], string]> {
    const words = line.split(/\s+/);
    const current = words[words.length - 1] ?? "";
    if (words.length <= 1) return [COMMAND_NAMES.filter((name) => name.startsWith(current)), current];
    if (!current.startsWith("/")) return [[], current];
    const slash = current.lastIndexOf("/");
    const parent = slash === 0 ? "/" : current.slice(0, slash);
    const prefix = current.slice(slash + 1);
    try {
      const { children } = await this.client.getChildren(parent);
      const base = parent === "/" ? "" : parent;
      return [children.filter((child) => child.startsWith(prefix)).sort().map((child) => `${base}/${child}`), current];
    } catch {
      return [[], current];
    }
  }

  /** Remove this shell's persistent watches (best effort). */
  async close(): Promise<void> {
    for (const [path, watchers] of this.watches) {
      for (const watcher of watchers) await this.client.removeWatches(path, WatcherType.Any, watcher).catch(() => undefined);
    }
    this.watches.clear();
  }

  private fail(error: unknown): CommandOutcome {
    const { line, tag } = describeFailure(error);
    for (const part of line.split("\n")) this.io.err(part);
    return { ok: false, quit: false, error: tag };
  }

  private watcher(label: string): Watcher {
    return (event: WatchedEvent) => this.io.out(formatEvent(event, label));
  }

  private async run(name: CommandName, parsed: ParsedArgs): Promise<CommandOutcome> {
    const { flags, values, args } = parsed;
    const path = args[0] ?? "";
    const ok: CommandOutcome = { ok: true, quit: false };
    switch (name) {
      case "ls": {
        if (flags.has("-R")) {
          for (const each of await this.subtree(path)) this.io.out(each);
          return ok;
        }
        const { children, stat } = await this.client.getChildren(path);
        this.io.out(`[${[...children].sort().join(", ")}]`);
        if (flags.has("-s")) for (const statLine of formatStat(stat)) this.io.out(statLine);
        return ok;
      }
      case "get": {
        const options = flags.has("-w") ? { watch: this.watcher("WATCHER") } : {};
        const { data, stat } = await this.client.getData(path, options);
        this.io.out(formatData(data));
        if (flags.has("-s")) for (const statLine of formatStat(stat)) this.io.out(statLine);
        return ok;
      }
      case "set": {
        const versionText = values.get("-v");
        const version = versionText === undefined ? -1 : parseInteger(name, "-v", versionText, -1);
        const stat = await this.client.setData(path, args[1] ?? "", version);
        if (flags.has("-s")) for (const statLine of formatStat(stat)) this.io.out(statLine);
        return ok;
      }
      case "create": {
        const ttlText = values.get("-t");
        const ttlMs = ttlText === undefined ? undefined : parseInteger(name, "-t", ttlText, 1);
        const mode = createModeFor(name, flags, ttlMs !== undefined);
        const aclText = args[2];
        const acl: ACL[] | undefined = aclText === undefined ? undefined : parseAcl(aclText);
        const created = await this.client.create(path, args[1] ?? "", {
          mode,
          ...(ttlMs === undefined ? {} : { ttlMs }),
          ...(acl === undefined ? {} : { acl }),
        });
        this.io.out(`Created ${created.path}`);
        return ok;
      }
      case "delete": {
        const versionText = values.get("-v");
        await this.client.delete(path, versionText === undefined ? -1 : parseInteger(name, "-v", versionText, -1));
        return ok;
      }
      case "deleteall": {
        // Deepest first, so every delete finds its node childless.
        const nodes = await this.subtree(path);
        for (const each of nodes.reverse()) {
          try {
            await this.client.delete(each);
          } catch (error) {
            // Someone else deleted it meanwhile: that is what we wanted.
            if (!(isCorralError(error) && error._tag === "NoNode")) throw error;
          }
        }
        return ok;
      }
      case "stat": {
        const stat = await this.client.exists(path);
        if (stat === null) {
          this.io.err(`NoNode (-101): the node does not exist: ${path}`);
          return { ok: false, quit: false, error: "NoNode" };
        }
        for (const statLine of formatStat(stat)) this.io.out(statLine);
        return ok;
      }
      case "sync":
        await this.client.sync(path);
        this.io.out("Sync is OK");
        return ok;
      case "getAcl": {
        const { acl } = await this.client.getACL(path);
        for (const entry of acl) this.io.out(formatAcl([entry]));
        return ok;
      }
      case "setAcl": {
        const acl = parseAcl(args[1] ?? "");
        const versionText = values.get("-v");
        await this.client.setACL(path, acl, versionText === undefined ? -1 : parseInteger(name, "-v", versionText, -1));
        return ok;
      }
      case "addauth": {
        const [scheme, credentials] = args as [string, string];
        if (scheme !== "digest") throw new ShellUsageError(name, `unsupported scheme "${scheme}" (only digest)`);
        const colon = credentials.indexOf(":");
        if (colon <= 0) throw new ShellUsageError(name, "credentials must be user:password");
        await this.client.addAuth("digest", credentials);
        this.identities.push(`digest:${credentials.slice(0, colon)}`);
        return ok;
      }
      case "watch": {
        const recursive = flags.has("-R");
        const watcher = this.watcher(recursive ? "WATCH -R" : "WATCH");
        await this.client.addWatch(path, recursive ? AddWatchMode.PersistentRecursive : AddWatchMode.Persistent, watcher);
        this.watches.set(path, [...(this.watches.get(path) ?? []), watcher]);
        this.io.out(`watching ${path}${recursive ? " and its subtree" : ""}`);
        return ok;
      }
      case "unwatch": {
        const watchers = this.watches.get(path);
        if (watchers === undefined) throw new ShellUsageError(name, `this shell has no watch on ${path}`);
        for (const watcher of watchers) await this.client.removeWatches(path, WatcherType.Any, watcher);
        this.watches.delete(path);
        return ok;
      }
      case "whoami": {
        const session = this.client.sessionId;
        this.io.out(`session: ${session === null ? "none" : hexId(session)}`);
        this.io.out(`state: ${this.client.state}`);
        this.io.out("identities:");
        for (const identity of ["world:anyone", ...this.identities]) this.io.out(`  ${identity}`);
        return ok;
      }
      case "status": {
        if (this.options.status === undefined) throw new ShellUsageError(name, "no admin URLs known for this ensemble (start the shell with --data DIR of a `corral up`)");
        const { lines, healthy } = await this.options.status();
        for (const statusLine of lines) this.io.out(statusLine);
        return healthy ? ok : { ok: false, quit: false, error: "Unhealthy" };
      }
      case "help": {
        const topic = args[0];
        if (topic !== undefined) {
          if (!isCommandName(topic)) throw new ShellUsageError(name, `no command "${topic}"`);
          this.io.out(`${COMMANDS[topic].usage}    ${COMMANDS[topic].help}`);
          return ok;
        }
        const width = Math.max(...COMMAND_NAMES.map((each) => COMMANDS[each].usage.length));
        for (const each of COMMAND_NAMES) this.io.out(`${COMMANDS[each].usage.padEnd(width)}  ${COMMANDS[each].help}`);
        return ok;
      }
      case "quit":
      case "exit":
        return { ok: true, quit: true };
    }
  }

  /** `path` and every node below it, parents before children, bounded by maxSubtreeNodes. */
  private async subtree(path: string): Promise<string[]> {
    const result: string[] = [];
    const stack = [path];
    while (stack.length > 0) {
      const current = stack.pop()!;
      let children: string[];
      try {
        ({ children } = await this.client.getChildren(current));
      } catch (error) {
        // A node that vanished under us (not the root of the walk) is simply not listed.
        if (current !== path && isCorralError(error) && error._tag === "NoNode") continue;
        throw error;
      }
      result.push(current);
      if (result.length > this.maxSubtreeNodes) throw new SubtreeTooLarge(path, this.maxSubtreeNodes);
      for (const child of [...children].sort().reverse()) stack.push(joinPath(current, child));
    }
    return result;
  }
}
