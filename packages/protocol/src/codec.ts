/**
 * JSON codecs: typed values <-> JSON-able objects (binary data as base64
 * strings), for UTF-8 JSON on the wire and in Raft entries.
 *
 * Every decoder is strict (unknown fields, wrong types, out-of-range numbers
 * and oversized values are rejected) and total: it returns the value or a
 * DecodeError and never throws. Semantic checks (path syntax, ACL schemes,
 * versions that do not match) are the tree's job, which answers them with
 * ZooKeeper's error codes.
 */
import { DecodeError, isErrorCode } from "./errors.js";
import type { ErrorCodeValue } from "./errors.js";
import type {
  CheckOp,
  CreateOp,
  DeleteOp,
  ErrorResult,
  MultiOpResult,
  MultiSubOp,
  ReadOp,
  ReadResult,
  RequestTxn,
  SetDataOp,
  Txn,
  TxnResult,
  WriteOp,
} from "./ops.js";
import { MAX_SESSION_OWNER_LENGTH } from "./ops.js";
import type { ACL, Id, Stat } from "./types.js";
import { StatFields, isCreateMode } from "./types.js";

/** Hard limits of the decoders. The tree's semantic limits must not exceed them. */
export interface CodecLimits {
  readonly maxPathLength: number;
  readonly maxDataBytes: number;
  readonly maxAclEntries: number;
  readonly maxIdLength: number;
  readonly maxMultiOps: number;
  readonly maxAuthIds: number;
  readonly maxSecretLength: number;
  /** Children / paths in one read result. */
  readonly maxListLength: number;
  /** Encoded bytes of one entry/message (decodeTxnBytes). */
  readonly maxMessageBytes: number;
}
export const defaultCodecLimits: CodecLimits = Object.freeze({
  maxPathLength: 4096,
  maxDataBytes: 1024 * 1024,
  maxAclEntries: 256,
  maxIdLength: 1024,
  maxMultiOps: 1024,
  maxAuthIds: 64,
  maxSecretLength: 256,
  maxListLength: 1_000_000,
  maxMessageBytes: 4 * 1024 * 1024,
});

/**
 * The nodes' default largest Raft entry (NodeConfig.maxEntryBytes): a write
 * whose entry would be larger is refused with LimitExceeded before it is
 * proposed. Fits the largest znode data (1 MiB, base64 in the entry).
 */
export const DEFAULT_MAX_ENTRY_BYTES = 2 * 1024 * 1024;

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

// --------------------------------------------------------------- internals --

/** Thrown only inside this module and always caught by `guard`. */
class Reject {
  constructor(
    readonly reason: string,
    readonly at: string,
    /** A size limit, not a malformed value: callers answer it with LimitExceeded rather than BadArguments. */
    readonly overLimit = false,
  ) {}
}

function guard<T>(decode: () => T): T | DecodeError {
  try {
    return decode();
  } catch (error) {
    if (error instanceof Reject) return new DecodeError(error.reason, error.at, error.overLimit);
    return new DecodeError(`decoder failed: ${String(error)}`);
  }
}

type Obj = Record<string, unknown>;

function object(u: unknown, at: string, allowed: readonly string[]): Obj {
  if (typeof u !== "object" || u === null || Array.isArray(u)) throw new Reject("expected an object", at);
  const proto: unknown = Object.getPrototypeOf(u);
  if (proto !== Object.prototype && proto !== null) throw new Reject("expected a plain object", at);
  for (const key of Object.keys(u)) {
    if (!allowed.includes(key)) throw new Reject(`unexpected field ${JSON.stringify(key.slice(0, 64))}`, at);
  }
  return u as Obj;
}

function field(o: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function string(u: unknown, at: string, maxLength: number): string {
  if (typeof u !== "string") throw new Reject("expected a string", at);
  if (u.length > maxLength) throw new Reject(`string longer than ${maxLength}`, at, true);
  return u;
}

function integer(u: unknown, at: string, min: number, max: number): number {
  if (typeof u !== "number" || !Number.isSafeInteger(u)) throw new Reject("expected a safe integer", at);
  if (u < min || u > max) throw new Reject(`out of range [${min}, ${max}]`, at);
  return u;
}

function boolean(u: unknown, at: string): boolean {
  if (typeof u !== "boolean") throw new Reject("expected a boolean", at);
  return u;
}

function array(u: unknown, at: string, maxLength: number): readonly unknown[] {
  if (!Array.isArray(u)) throw new Reject("expected an array", at);
  if (u.length > maxLength) throw new Reject(`more than ${maxLength} elements`, at, true);
  return u;
}

function literal<T extends string>(u: unknown, at: string, values: readonly T[]): T {
  if (typeof u !== "string" || !(values as readonly string[]).includes(u)) throw new Reject(`expected one of ${values.join("|")}`, at);
  return u as T;
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function bytes(u: unknown, at: string, maxBytes: number): Uint8Array {
  if (typeof u !== "string") throw new Reject("expected a base64 string", at);
  if (u.length > Math.ceil(maxBytes / 3) * 4) throw new Reject(`more than ${maxBytes} bytes`, at, true);
  if (!base64Pattern.test(u)) throw new Reject("invalid base64", at);
  const buffer = Buffer.from(u, "base64");
  if (buffer.length > maxBytes) throw new Reject(`more than ${maxBytes} bytes`, at, true);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const SAFE_MIN = Number.MIN_SAFE_INTEGER;
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

// ------------------------------------------------------------ Stat, Id, ACL --

export function encodeStat(stat: Stat): Json {
  return {
    czxid: stat.czxid,
    mzxid: stat.mzxid,
    pzxid: stat.pzxid,
    ctime: stat.ctime,
    mtime: stat.mtime,
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: stat.ephemeralOwner,
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
  };
}

function readStat(u: unknown, at: string): Stat {
  const o = object(u, at, StatFields);
  const out: Record<string, number> = {};
  for (const key of StatFields) out[key] = integer(field(o, key), `${at}.${key}`, SAFE_MIN, SAFE_MAX);
  return out as unknown as Stat;
}

export function decodeStat(u: unknown): Stat | DecodeError {
  return guard(() => readStat(u, "stat"));
}

function readId(u: unknown, at: string, limits: CodecLimits): Id {
  const o = object(u, at, ["scheme", "id"]);
  return { scheme: string(field(o, "scheme"), `${at}.scheme`, 64), id: string(field(o, "id"), `${at}.id`, limits.maxIdLength) };
}

export function encodeAcl(acl: readonly ACL[]): Json {
  return acl.map((entry) => ({ perms: entry.perms, id: { scheme: entry.id.scheme, id: entry.id.id } }));
}

function readAcl(u: unknown, at: string, limits: CodecLimits): ACL[] {
  return array(u, at, limits.maxAclEntries).map((entry, index) => {
    const o = object(entry, `${at}[${index}]`, ["perms", "id"]);
    return { perms: integer(field(o, "perms"), `${at}[${index}].perms`, INT32_MIN, INT32_MAX), id: readId(field(o, "id"), `${at}[${index}].id`, limits) };
  });
}

export function decodeAcl(u: unknown, limits: CodecLimits = defaultCodecLimits): ACL[] | DecodeError {
  return guard(() => readAcl(u, "acl", limits));
}

export function decodeIds(u: unknown, limits: CodecLimits = defaultCodecLimits): Id[] | DecodeError {
  return guard(() => array(u, "auth", limits.maxAuthIds).map((id, index) => readId(id, `auth[${index}]`, limits)));
}

// -------------------------------------------------------------------- ops --

export function encodeWriteOp(op: WriteOp | CheckOp): Json {
  switch (op.type) {
    case "create": {
      const out: Record<string, Json> = { type: "create", path: op.path, data: bytesToBase64(op.data), acl: encodeAcl(op.acl), mode: op.mode };
      if (op.ttlMs !== undefined) out["ttlMs"] = op.ttlMs;
      return out;
    }
    case "delete":
      return { type: "delete", path: op.path, version: op.version };
    case "setData":
      return { type: "setData", path: op.path, data: bytesToBase64(op.data), version: op.version };
    case "setACL":
      return { type: "setACL", path: op.path, acl: encodeAcl(op.acl), version: op.version };
    case "check":
      return { type: "check", path: op.path, version: op.version };
    case "multi":
      return { type: "multi", ops: op.ops.map((sub) => encodeWriteOp(sub)) };
  }
}

function readSubOp(u: unknown, at: string, limits: CodecLimits, allowed: readonly string[]): WriteOp | CheckOp {
  if (typeof u !== "object" || u === null) throw new Reject("expected an object", at);
  const type = literal((u as Obj)["type"], `${at}.type`, allowed);
  const path = (o: Obj): string => string(field(o, "path"), `${at}.path`, limits.maxPathLength);
  const version = (o: Obj): number => integer(field(o, "version"), `${at}.version`, INT32_MIN, INT32_MAX);
  switch (type) {
    case "create": {
      const o = object(u, at, ["type", "path", "data", "acl", "mode", "ttlMs"]);
      const mode = field(o, "mode");
      if (!isCreateMode(mode)) throw new Reject("expected a create mode 0..6", `${at}.mode`);
      const op: CreateOp = { type, path: path(o), data: bytes(field(o, "data"), `${at}.data`, limits.maxDataBytes), acl: readAcl(field(o, "acl"), `${at}.acl`, limits), mode };
      const ttl = field(o, "ttlMs");
      return ttl === undefined ? op : { ...op, ttlMs: integer(ttl, `${at}.ttlMs`, SAFE_MIN, SAFE_MAX) };
    }
    case "delete": {
      const o = object(u, at, ["type", "path", "version"]);
      return { type, path: path(o), version: version(o) } satisfies DeleteOp;
    }
    case "setData": {
      const o = object(u, at, ["type", "path", "data", "version"]);
      return { type, path: path(o), data: bytes(field(o, "data"), `${at}.data`, limits.maxDataBytes), version: version(o) } satisfies SetDataOp;
    }
    case "setACL": {
      const o = object(u, at, ["type", "path", "acl", "version"]);
      return { type, path: path(o), acl: readAcl(field(o, "acl"), `${at}.acl`, limits), version: version(o) };
    }
    case "check": {
      const o = object(u, at, ["type", "path", "version"]);
      return { type, path: path(o), version: version(o) } satisfies CheckOp;
    }
    default: {
      const o = object(u, at, ["type", "ops"]);
      const ops = array(field(o, "ops"), `${at}.ops`, limits.maxMultiOps).map(
        (sub, index) => readSubOp(sub, `${at}.ops[${index}]`, limits, ["check", "create", "delete", "setData"]) as MultiSubOp,
      );
      return { type: "multi", ops };
    }
  }
}

function readWriteOp(u: unknown, at: string, limits: CodecLimits): WriteOp {
  return readSubOp(u, at, limits, ["create", "delete", "setData", "setACL", "multi"]) as WriteOp;
}

export function decodeWriteOp(u: unknown, limits: CodecLimits = defaultCodecLimits): WriteOp | DecodeError {
  return guard(() => readWriteOp(u, "op", limits));
}

export function encodeReadOp(op: ReadOp): Json {
  return { ...op } as Json;
}

export function decodeReadOp(u: unknown, limits: CodecLimits = defaultCodecLimits): ReadOp | DecodeError {
  return guard((): ReadOp => {
    if (typeof u !== "object" || u === null) throw new Reject("expected an object", "op");
    const type = literal((u as Obj)["type"], "op.type", ["getData", "exists", "getChildren", "getAllChildrenNumber", "getEphemerals", "getACL"]);
    if (type === "getEphemerals") {
      const o = object(u, "op", ["type", "prefix"]);
      return { type, prefix: string(field(o, "prefix"), "op.prefix", limits.maxPathLength) };
    }
    if (type === "getAllChildrenNumber" || type === "getACL") {
      const o = object(u, "op", ["type", "path"]);
      return { type, path: string(field(o, "path"), "op.path", limits.maxPathLength) };
    }
    const o = object(u, "op", ["type", "path", "watch"]);
    const path = string(field(o, "path"), "op.path", limits.maxPathLength);
    const watch = field(o, "watch");
    return watch === undefined ? { type, path } : { type, path, watch: boolean(watch, "op.watch") };
  });
}

// ---------------------------------------------------------------- results --

function encodeErrorResult(result: ErrorResult): Json {
  return result.path === undefined ? { type: "error", code: result.code } : { type: "error", code: result.code, path: result.path };
}

function readErrorResult(o: Obj, at: string, limits: CodecLimits): ErrorResult {
  const code = field(o, "code");
  if (!isErrorCode(code)) throw new Reject("unknown error code", `${at}.code`);
  const path = field(o, "path");
  return path === undefined ? { type: "error", code: code as ErrorCodeValue } : { type: "error", code: code as ErrorCodeValue, path: string(path, `${at}.path`, limits.maxPathLength) };
}

export function encodeTxnResult(result: TxnResult | MultiOpResult): Json {
  switch (result.type) {
    case "error":
      return encodeErrorResult(result);
    case "create":
      // Corral's tree always has the Stat; only a MultiCreateResult from Apache ZooKeeper lacks it.
      return result.stat === undefined ? { type: "create", path: result.path } : { type: "create", path: result.path, stat: encodeStat(result.stat) };
    case "setData":
    case "setACL":
      return { type: result.type, stat: encodeStat(result.stat) };
    case "multi":
      return { type: "multi", results: result.results.map((entry) => encodeTxnResult(entry)) };
    case "closeSession":
      return { type: "closeSession", sessionId: result.sessionId, deleted: [...result.deleted] };
    default:
      return { ...result } as Json;
  }
}

function readTxnResult(u: unknown, at: string, limits: CodecLimits, nested: boolean): TxnResult {
  if (typeof u !== "object" || u === null) throw new Reject("expected an object", at);
  const allowed = nested
    ? ["error", "create", "delete", "setData", "check"]
    : ["error", "create", "delete", "setData", "setACL", "multi", "createSession", "closeSession", "claimSession", "reap", "noop"];
  const type = literal((u as Obj)["type"], `${at}.type`, allowed);
  switch (type) {
    case "error":
      return readErrorResult(object(u, at, ["type", "code", "path"]), at, limits);
    case "create": {
      const o = object(u, at, ["type", "path", "stat"]);
      return { type, path: string(field(o, "path"), `${at}.path`, limits.maxPathLength), stat: readStat(field(o, "stat"), `${at}.stat`) };
    }
    case "setData":
    case "setACL": {
      const o = object(u, at, ["type", "stat"]);
      return { type, stat: readStat(field(o, "stat"), `${at}.stat`) };
    }
    case "delete":
    case "check":
    case "noop":
      object(u, at, ["type"]);
      return { type } as TxnResult;
    case "multi": {
      const o = object(u, at, ["type", "results"]);
      const results = array(field(o, "results"), `${at}.results`, limits.maxMultiOps).map(
        (entry, index) => readTxnResult(entry, `${at}.results[${index}]`, limits, true) as MultiOpResult,
      );
      return { type, results };
    }
    case "createSession": {
      const o = object(u, at, ["type", "sessionId"]);
      return { type, sessionId: integer(field(o, "sessionId"), `${at}.sessionId`, 1, SAFE_MAX) };
    }
    case "claimSession": {
      const o = object(u, at, ["type", "sessionId", "lastSeq"]);
      return { type, sessionId: integer(field(o, "sessionId"), `${at}.sessionId`, 1, SAFE_MAX), lastSeq: integer(field(o, "lastSeq"), `${at}.lastSeq`, 0, SAFE_MAX) };
    }
    case "closeSession": {
      const o = object(u, at, ["type", "sessionId", "deleted"]);
      const deleted = array(field(o, "deleted"), `${at}.deleted`, limits.maxListLength).map((p, index) => string(p, `${at}.deleted[${index}]`, limits.maxPathLength));
      return { type, sessionId: integer(field(o, "sessionId"), `${at}.sessionId`, 1, SAFE_MAX), deleted };
    }
    default: {
      const o = object(u, at, ["type", "path"]);
      return { type: "reap", path: string(field(o, "path"), `${at}.path`, limits.maxPathLength) };
    }
  }
}

export function decodeTxnResult(u: unknown, limits: CodecLimits = defaultCodecLimits): TxnResult | DecodeError {
  return guard(() => readTxnResult(u, "result", limits, false));
}

export function encodeReadResult(result: ReadResult): Json {
  switch (result.type) {
    case "error":
      return encodeErrorResult(result);
    case "getData":
      return { type: "getData", data: bytesToBase64(result.data), stat: encodeStat(result.stat) };
    case "exists":
      return { type: "exists", stat: result.stat === null ? null : encodeStat(result.stat) };
    case "getChildren":
      return { type: "getChildren", children: [...result.children], stat: encodeStat(result.stat) };
    case "getAllChildrenNumber":
      return { type: "getAllChildrenNumber", count: result.count };
    case "getEphemerals":
      return { type: "getEphemerals", paths: [...result.paths] };
    case "getACL":
      return { type: "getACL", acl: encodeAcl(result.acl), stat: encodeStat(result.stat) };
  }
}

export function decodeReadResult(u: unknown, limits: CodecLimits = defaultCodecLimits): ReadResult | DecodeError {
  return guard((): ReadResult => {
    const at = "result";
    if (typeof u !== "object" || u === null) throw new Reject("expected an object", at);
    const type = literal((u as Obj)["type"], `${at}.type`, ["error", "getData", "exists", "getChildren", "getAllChildrenNumber", "getEphemerals", "getACL"]);
    const strings = (v: unknown, where: string): string[] =>
      array(v, where, limits.maxListLength).map((s, index) => string(s, `${where}[${index}]`, limits.maxPathLength));
    switch (type) {
      case "error":
        return readErrorResult(object(u, at, ["type", "code", "path"]), at, limits);
      case "getData": {
        const o = object(u, at, ["type", "data", "stat"]);
        return { type, data: bytes(field(o, "data"), `${at}.data`, limits.maxDataBytes), stat: readStat(field(o, "stat"), `${at}.stat`) };
      }
      case "exists": {
        const o = object(u, at, ["type", "stat"]);
        const stat = field(o, "stat");
        return { type, stat: stat === null ? null : readStat(stat, `${at}.stat`) };
      }
      case "getChildren": {
        const o = object(u, at, ["type", "children", "stat"]);
        return { type, children: strings(field(o, "children"), `${at}.children`), stat: readStat(field(o, "stat"), `${at}.stat`) };
      }
      case "getAllChildrenNumber": {
        const o = object(u, at, ["type", "count"]);
        return { type, count: integer(field(o, "count"), `${at}.count`, 0, SAFE_MAX) };
      }
      case "getEphemerals": {
        const o = object(u, at, ["type", "paths"]);
        return { type, paths: strings(field(o, "paths"), `${at}.paths`) };
      }
      case "getACL": {
        const o = object(u, at, ["type", "acl", "stat"]);
        return { type, acl: readAcl(field(o, "acl"), `${at}.acl`, limits), stat: readStat(field(o, "stat"), `${at}.stat`) };
      }
    }
  });
}

// ----------------------------------------------------------- transactions --

export function encodeTxn(txn: Txn): Json {
  switch (txn.type) {
    case "request": {
      const out: Record<string, Json> = {
        type: "request",
        sessionId: txn.sessionId,
        seq: txn.seq,
        auth: txn.auth.map((id) => ({ scheme: id.scheme, id: id.id })),
        op: encodeWriteOp(txn.op),
      };
      if (txn.system === true) out["system"] = true;
      if (txn.owner !== undefined) out["owner"] = txn.owner;
      return out;
    }
    default:
      return { ...txn } as Json;
  }
}

function readTxn(u: unknown, limits: CodecLimits): Txn {
  const at = "txn";
  if (typeof u !== "object" || u === null) throw new Reject("expected an object", at);
  const type = literal((u as Obj)["type"], `${at}.type`, ["createSession", "closeSession", "claimSession", "request", "reap", "noop"]);
  const sessionId = (o: Obj): number => integer(field(o, "sessionId"), `${at}.sessionId`, 1, SAFE_MAX);
  switch (type) {
    case "createSession": {
      const o = object(u, at, ["type", "sessionId", "timeoutMs", "secretHash"]);
      return {
        type,
        sessionId: sessionId(o),
        timeoutMs: integer(field(o, "timeoutMs"), `${at}.timeoutMs`, 1, SAFE_MAX),
        secretHash: string(field(o, "secretHash"), `${at}.secretHash`, limits.maxSecretLength),
      };
    }
    case "closeSession": {
      const o = object(u, at, ["type", "sessionId", "reason"]);
      return { type, sessionId: sessionId(o), reason: literal(field(o, "reason"), `${at}.reason`, ["closed", "expired"]) };
    }
    case "claimSession": {
      const o = object(u, at, ["type", "sessionId", "owner"]);
      return { type, sessionId: sessionId(o), owner: string(field(o, "owner"), `${at}.owner`, MAX_SESSION_OWNER_LENGTH) };
    }
    case "request": {
      const o = object(u, at, ["type", "sessionId", "seq", "auth", "op", "system", "owner"]);
      const auth = array(field(o, "auth"), `${at}.auth`, limits.maxAuthIds).map((id, index) => readId(id, `${at}.auth[${index}]`, limits));
      const base: { -readonly [K in keyof RequestTxn]: RequestTxn[K] } = {
        type,
        sessionId: sessionId(o),
        seq: integer(field(o, "seq"), `${at}.seq`, 1, SAFE_MAX),
        auth,
        op: readWriteOp(field(o, "op"), `${at}.op`, limits),
      };
      const system = field(o, "system");
      if (system !== undefined) base.system = boolean(system, `${at}.system`);
      const owner = field(o, "owner");
      if (owner !== undefined) base.owner = string(owner, `${at}.owner`, MAX_SESSION_OWNER_LENGTH);
      return base;
    }
    case "reap": {
      const o = object(u, at, ["type", "path", "kind"]);
      return { type, path: string(field(o, "path"), `${at}.path`, limits.maxPathLength), kind: literal(field(o, "kind"), `${at}.kind`, ["container", "ttl"]) };
    }
    case "noop":
      object(u, at, ["type"]);
      return { type };
  }
}

export function decodeTxn(u: unknown, limits: CodecLimits = defaultCodecLimits): Txn | DecodeError {
  return guard(() => readTxn(u, limits));
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** A Txn as UTF-8 JSON bytes (a Raft entry's payload). */
export function encodeTxnBytes(txn: Txn): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(encodeTxn(txn)));
}

/** Parses and validates a Raft entry's payload. Never throws. */
export function decodeTxnBytes(payload: Uint8Array, limits: CodecLimits = defaultCodecLimits): Txn | DecodeError {
  if (payload.byteLength > limits.maxMessageBytes) return new DecodeError(`entry larger than ${limits.maxMessageBytes} bytes`, "txn", true);
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(payload));
  } catch (error) {
    return new DecodeError(`not UTF-8 JSON: ${String(error)}`, "txn");
  }
  return decodeTxn(parsed, limits);
}

/** Decodes an error code from the wire; unknown codes are rejected. */
export function decodeErrorCode(u: unknown): ErrorCodeValue | DecodeError {
  return isErrorCode(u) ? u : new DecodeError("unknown error code", "code");
}
