/**
 * The interactive front of `corral shell`: node:readline with a prompt,
 * history (kept in a file across runs, bounded) and tab completion from the
 * interpreter. Ctrl-D or `quit` leaves; Ctrl-C clears the line, a second
 * Ctrl-C on an empty line leaves.
 */
import { appendFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { Interface } from "node:readline";
import type { ShellInterpreter, ShellIo } from "./interpreter.js";

/**
 * Output for an interactive shell: a line that arrives while the prompt waits
 * (a watch event, a state change) clears the prompt line, prints, and redraws
 * the prompt with what the user had typed.
 */
export class InteractiveIo implements ShellIo {
  private rl: Interface | undefined;
  private busy = false;
  constructor(
    private readonly stdout: Writable,
    private readonly stderr: Writable,
  ) {}
  attach(rl: Interface | undefined): void {
    this.rl = rl;
  }
  setBusy(busy: boolean): void {
    this.busy = busy;
  }
  out(line: string): void {
    this.print(this.stdout, line);
  }
  err(line: string): void {
    this.print(this.stderr, line);
  }
  private print(stream: Writable, line: string): void {
    if (this.rl === undefined || this.busy) {
      stream.write(`${line}\n`);
      return;
    }
    this.stdout.write("\r\x1b[K");
    stream.write(`${line}\n`);
    this.rl.prompt(true);
  }
}

export interface ReplOptions {
  readonly interpreter: ShellInterpreter;
  /** The io the interpreter writes to, so asynchronous lines redraw the prompt. */
  readonly io?: InteractiveIo;
  readonly input: Readable;
  readonly output: Writable;
  readonly prompt: string;
  /** File keeping history across runs; none when undefined. */
  readonly historyFile?: string;
  /** Lines of history kept (default 1000). */
  readonly historySize?: number;
}

function loadHistory(file: string, size: number): string[] {
  try {
    // Lines with credentials written by an older version are not brought back.
    const lines = readFileSync(file, "utf8").split("\n").filter((line) => line.trim() !== "" && !isSensitiveLine(line));
    // readline wants the newest first.
    return lines.slice(-size).reverse();
  } catch {
    return [];
  }
}

/**
 * Lines that carry credentials (`addauth digest user:password`): never kept
 * in the history, neither in the file nor in this session's recall list.
 */
export function isSensitiveLine(line: string): boolean {
  return /^\s*addauth(\s|$)/i.test(line);
}

/** The history file is the user's only: rw------- */
const HISTORY_FILE_MODE = 0o600;

function saveHistoryLine(file: string, line: string, size: number): void {
  if (isSensitiveLine(line)) return;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    appendFileSync(file, `${line}\n`, { mode: HISTORY_FILE_MODE });
    // The mode above applies only when the file is created: tighten one left by an older version (e.g. 0644).
    chmodSync(file, HISTORY_FILE_MODE);
    const lines = readFileSync(file, "utf8").split("\n").filter((each) => each !== "");
    // Trim rarely: only when the file is well past its bound.
    if (lines.length > size * 2) writeFileSync(file, `${lines.slice(-size).join("\n")}\n`, { mode: HISTORY_FILE_MODE });
  } catch {
    // History is a convenience; a read-only disk must not break the shell.
  }
}

/** Runs until quit / Ctrl-D. Resolves with whether the last command succeeded. */
export async function runRepl(options: ReplOptions): Promise<boolean> {
  const historySize = options.historySize ?? 1000;
  const { interpreter } = options;
  const rl = createInterface({
    input: options.input,
    output: options.output,
    prompt: options.prompt,
    terminal: true,
    historySize,
    history: options.historyFile === undefined ? [] : loadHistory(options.historyFile, historySize),
    removeHistoryDuplicates: true,
    completer: (line: string, callback: (error: Error | null, result: [string[], string]) => void) => {
      interpreter.complete(line).then(
        (result) => callback(null, result),
        () => callback(null, [[], line]),
      );
    },
  });
  // readline adds each line to its recall list before we see it; drop credential lines from it at once.
  rl.on("history", (history: string[]) => {
    if (history.length > 0 && isSensitiveLine(history[0]!)) history.shift();
  });
  let lastOk = true;
  let interrupted = false;
  rl.on("SIGINT", () => {
    if (interrupted || rl.line === "") {
      rl.close();
      return;
    }
    interrupted = true;
    options.output.write("^C (again to quit)\n");
    rl.write(null, { ctrl: true, name: "u" });
    rl.prompt();
  });
  options.io?.attach(rl);
  rl.prompt();
  try {
    for await (const line of rl) {
      interrupted = false;
      if (line.trim() !== "" && options.historyFile !== undefined) saveHistoryLine(options.historyFile, line, historySize);
      options.io?.setBusy(true);
      const outcome = await interpreter.execute(line);
      options.io?.setBusy(false);
      lastOk = outcome.ok;
      if (outcome.quit) break;
      rl.prompt();
    }
  } finally {
    options.io?.attach(undefined);
    rl.close();
  }
  return lastOk;
}
