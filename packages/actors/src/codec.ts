import { Either, ParseResult, Schema } from "effect";

/**
 * Typed messages <-> JSON-able values. Frames are UTF-8 JSON (frame.ts), so a
 * codec maps a message to plain JSON data (bytes as base64 strings) and back.
 * `decode` is strict and total: any input yields a message or a DecodeFailure,
 * never an exception (DESIGN.md §4: input from the network never throws).
 */

/** Why a value could not be decoded. `path` locates the offending field ("body.entries[3].data"). */
export class DecodeFailure {
  readonly _tag = "DecodeFailure";
  readonly code = "DECODE_FAILURE";
  constructor(
    readonly reason: string,
    readonly path: string = "",
  ) {}
}

export function isDecodeFailure(value: unknown): value is DecodeFailure {
  return value instanceof DecodeFailure;
}

export interface Codec<M> {
  /** To a JSON-able value. */
  encode(message: M): unknown;
  /** From untrusted JSON data. Never throws. */
  decode(input: unknown): M | DecodeFailure;
}

/** Looks up the codec of a destination actor by its name (a Map satisfies it). */
export interface CodecRegistry {
  get(actorName: string): Codec<unknown> | undefined;
}

/** A codec from an Effect Schema (for messages off the hot path). */
export function schemaCodec<A, I>(schema: Schema.Schema<A, I, never>): Codec<A> {
  const decodeEither = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" });
  const encodeEither = Schema.encodeEither(schema);
  return {
    encode(message: A): unknown {
      const result = encodeEither(message);
      // The message is typed, so failure here is a programming error, not input.
      if (Either.isLeft(result)) throw new TypeError(ParseResult.TreeFormatter.formatErrorSync(result.left));
      return result.right;
    },
    decode(input: unknown): A | DecodeFailure {
      try {
        const result = decodeEither(input);
        if (Either.isRight(result)) return result.right;
        return new DecodeFailure(ParseResult.TreeFormatter.formatErrorSync(result.left));
      } catch (error) {
        return new DecodeFailure(`schema decoder threw: ${String(error)}`);
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Hand-written strict readers for hot paths. Each returns the value or a
// DecodeFailure; none throws. Fields are read only if they are own properties
// (a JSON key "toString" or "__proto__" never aliases the prototype).

export type JsonObject = Readonly<Record<string, unknown>>;

const hasOwn = Object.prototype.hasOwnProperty;

export function readObject(input: unknown, path = ""): JsonObject | DecodeFailure {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return new DecodeFailure("expected an object", path);
  return input as JsonObject;
}

function field(object: JsonObject, key: string): unknown {
  return hasOwn.call(object, key) ? object[key] : undefined;
}

function fieldPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export interface StringLimits {
  readonly maxLength: number;
  readonly minLength?: number;
  readonly optional?: boolean;
}

export function readString(object: JsonObject, key: string, limits: StringLimits & { optional: true }, path?: string): string | undefined | DecodeFailure;
export function readString(object: JsonObject, key: string, limits: StringLimits, path?: string): string | DecodeFailure;
export function readString(object: JsonObject, key: string, limits: StringLimits, path = ""): string | undefined | DecodeFailure {
  const value = field(object, key);
  if (value === undefined && limits.optional === true) return undefined;
  if (typeof value !== "string") return new DecodeFailure("expected a string", fieldPath(path, key));
  if (value.length > limits.maxLength) return new DecodeFailure(`string longer than ${limits.maxLength}`, fieldPath(path, key));
  if (value.length < (limits.minLength ?? 0)) return new DecodeFailure(`string shorter than ${limits.minLength ?? 0}`, fieldPath(path, key));
  return value;
}

export interface IntLimits {
  readonly min: number;
  readonly max: number;
  readonly optional?: boolean;
}

export function readInt(object: JsonObject, key: string, limits: IntLimits & { optional: true }, path?: string): number | undefined | DecodeFailure;
export function readInt(object: JsonObject, key: string, limits: IntLimits, path?: string): number | DecodeFailure;
export function readInt(object: JsonObject, key: string, limits: IntLimits, path = ""): number | undefined | DecodeFailure {
  const value = field(object, key);
  if (value === undefined && limits.optional === true) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) return new DecodeFailure("expected a safe integer", fieldPath(path, key));
  if (value < limits.min || value > limits.max) return new DecodeFailure(`integer outside [${limits.min}, ${limits.max}]`, fieldPath(path, key));
  return value;
}

export function readBoolean(object: JsonObject, key: string, path = ""): boolean | DecodeFailure {
  const value = field(object, key);
  if (typeof value !== "boolean") return new DecodeFailure("expected a boolean", fieldPath(path, key));
  return value;
}

export function readLiteral<const L extends string | number | boolean>(object: JsonObject, key: string, literals: readonly L[], path = ""): L | DecodeFailure {
  const value = field(object, key);
  for (const literal of literals) if (value === literal) return literal;
  return new DecodeFailure(`expected one of ${literals.map((l) => JSON.stringify(l)).join(", ")}`, fieldPath(path, key));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes a strict (padded, canonical alphabet) base64 string into bytes. */
export function decodeBase64(text: string, maxBytes: number, path = ""): Uint8Array | DecodeFailure {
  if (text.length % 4 !== 0 || text.length > Math.ceil(maxBytes / 3) * 4 || !BASE64.test(text)) {
    return new DecodeFailure(text.length % 4 !== 0 || !BASE64.test(text) ? "invalid base64" : `bytes longer than ${maxBytes}`, path);
  }
  const buffer = Buffer.from(text, "base64");
  if (buffer.length > maxBytes) return new DecodeFailure(`bytes longer than ${maxBytes}`, path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function readBytes(object: JsonObject, key: string, limits: { readonly maxBytes: number }, path = ""): Uint8Array | DecodeFailure {
  const value = field(object, key);
  if (typeof value !== "string") return new DecodeFailure("expected base64 bytes", fieldPath(path, key));
  return decodeBase64(value, limits.maxBytes, fieldPath(path, key));
}

/** Reads an array of at most `maxLength` items, each decoded by `item`; the first failure wins. */
export function readArray<T>(
  object: JsonObject,
  key: string,
  limits: { readonly maxLength: number },
  item: (value: unknown, path: string) => T | DecodeFailure,
  path = "",
): T[] | DecodeFailure {
  const value = field(object, key);
  const here = fieldPath(path, key);
  if (!Array.isArray(value)) return new DecodeFailure("expected an array", here);
  if (value.length > limits.maxLength) return new DecodeFailure(`array longer than ${limits.maxLength}`, here);
  const out: T[] = [];
  for (let i = 0; i < value.length; i++) {
    const decoded = item(value[i], `${here}[${i}]`);
    if (decoded instanceof DecodeFailure) return decoded;
    out.push(decoded);
  }
  return out;
}

/** Reads a nested object field. */
export function readObjectField(object: JsonObject, key: string, path = ""): JsonObject | DecodeFailure {
  return readObject(field(object, key), fieldPath(path, key));
}

/** The raw value of an own field (undefined if absent), for callers that decode it themselves. */
export function readRaw(object: JsonObject, key: string): unknown {
  return field(object, key);
}
