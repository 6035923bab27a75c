/** Data helpers: znode data is bytes; strings travel as UTF-8. */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** A string as UTF-8 bytes. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 bytes as a string (invalid sequences become U+FFFD, never an exception). */
export function decodeUtf8(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Accepts what the API accepts as data: bytes as they are, strings as UTF-8. */
export function toBytes(data: Uint8Array | string | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === "string" ? encoder.encode(data) : data;
}
