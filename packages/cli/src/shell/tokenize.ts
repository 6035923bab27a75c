/**
 * Splits a shell line into words: whitespace separates, '…' and "…" quote
 * (so `create /a "hello world"` has data with a space), backslash escapes the
 * next character outside single quotes. Pure.
 */

export class ShellSyntaxError extends Error {
  readonly _tag = "ShellSyntaxError" as const;
  constructor(message: string) {
    super(message);
    this.name = "ShellSyntaxError";
  }
}

/** Longest line the shell accepts (a bound on what we parse and send). */
export const MAX_LINE_CHARS = 1024 * 1024;

export function tokenize(line: string): string[] {
  if (line.length > MAX_LINE_CHARS) throw new ShellSyntaxError(`line longer than ${MAX_LINE_CHARS} characters`);
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) current += line[++i]!;
      else current += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      current += line[++i]!;
      inWord = true;
    } else if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote !== null) throw new ShellSyntaxError(`unterminated ${quote} quote`);
  if (inWord) words.push(current);
  return words;
}
