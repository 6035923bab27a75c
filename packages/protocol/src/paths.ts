/**
 * ZooKeeper's path rules (PathUtils.validatePath), the reserved /corral
 * subtree, and helpers. Every check returns a typed BadArgumentsError; none throws.
 */
import { BadArgumentsError } from "./errors.js";

export interface PathLimits {
  /** Maximum path length in UTF-16 code units, including a sequential suffix. */
  readonly maxPathLength: number;
}
export const defaultPathLimits: PathLimits = Object.freeze({ maxPathLength: 4096 });

/** The subtree the system owns (configuration, quotas): users cannot write it. */
export const RESERVED_ROOT = "/corral";

export class InvalidPathError extends BadArgumentsError {
  constructor(
    path: string,
    readonly reason: string,
  ) {
    super(path, { cause: reason });
    this.message = `invalid path (${reason}): ${JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path)}`;
  }
}

function isInvalidChar(c: number): boolean {
  // Exactly PathUtils.validatePath's ranges: C0/C1 controls, DEL, surrogates
  // and the private-use area, and U+FFF0..U+FFFF.
  return (
    (c > 0x0000 && c <= 0x001f) ||
    (c >= 0x007f && c <= 0x009f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    (c >= 0xfff0 && c <= 0xffff)
  );
}

/**
 * Validates a path. With `sequential`, the path is a prefix to which the
 * server appends a 10-digit counter, so a trailing "/" is allowed (ZooKeeper
 * validates `path + "1"`).
 */
export function validatePath(path: unknown, options: { sequential?: boolean; limits?: PathLimits } = {}): InvalidPathError | undefined {
  if (typeof path !== "string") return new InvalidPathError(`<${typeof path}>`, "path must be a string");
  const limits = options.limits ?? defaultPathLimits;
  const sequentialSuffixLength = options.sequential === true ? 10 : 0;
  if (path.length + sequentialSuffixLength > limits.maxPathLength) return new InvalidPathError(path, `longer than ${limits.maxPathLength}`);
  const checked = options.sequential === true ? `${path}1` : path;
  if (checked.length === 0) return new InvalidPathError(path, "path length must be > 0");
  if (checked.charCodeAt(0) !== 0x2f) return new InvalidPathError(path, "path must start with /");
  if (checked.length === 1) return undefined;
  if (checked.charCodeAt(checked.length - 1) === 0x2f) return new InvalidPathError(path, "path must not end with /");
  let last = 0x2f;
  for (let i = 1; i < checked.length; i++) {
    const c = checked.charCodeAt(i);
    const next = i + 1 < checked.length ? checked.charCodeAt(i + 1) : 0x2f;
    if (c === 0) return new InvalidPathError(path, `null character at ${i}`);
    if (c === 0x2f && last === 0x2f) return new InvalidPathError(path, `empty node name at ${i}`);
    if (c === 0x2e && last === 0x2e && checked.charCodeAt(i - 2) === 0x2f && next === 0x2f) {
      return new InvalidPathError(path, `relative paths not allowed @${i}`);
    }
    if (c === 0x2e && last === 0x2f && next === 0x2f) return new InvalidPathError(path, `relative paths not allowed @${i}`);
    if (isInvalidChar(c)) return new InvalidPathError(path, `invalid character @${i}`);
    last = c;
  }
  return undefined;
}

export function isValidPath(path: unknown, options: { sequential?: boolean; limits?: PathLimits } = {}): path is string {
  return validatePath(path, options) === undefined;
}

/** Parent of a valid non-root path ("/a/b" -> "/a", "/a" -> "/"). */
export function parentPath(path: string): string {
  const lastSlash = path.lastIndexOf("/");
  return lastSlash <= 0 ? "/" : path.slice(0, lastSlash);
}

/** Last segment of a valid path ("/a/b" -> "b", "/" -> ""). */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Joins a parent path and a child name. */
export function joinPath(parent: string, child: string): string {
  return parent === "/" ? `/${child}` : `${parent}/${child}`;
}

/** ZooKeeper's `String.format("%010d", counter)`: zero-padded to 10 digits, sign first. */
export function formatSequence(counter: number): string {
  if (counter < 0) return `-${String(-counter).padStart(9, "0")}`;
  return String(counter).padStart(10, "0");
}

/** The path of a sequential node: the requested prefix plus the parent's counter. */
export function sequentialPath(prefix: string, counter: number): string {
  return prefix + formatSequence(counter);
}

/** True for /corral and everything under it. */
export function isReservedPath(path: string): boolean {
  return path === RESERVED_ROOT || path.startsWith(`${RESERVED_ROOT}/`);
}

/** True if `path` is `ancestor` or below it. */
export function isInSubtree(path: string, ancestor: string): boolean {
  if (ancestor === "/") return true;
  return path === ancestor || path.startsWith(`${ancestor}/`);
}
