/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of WAL
 * records and snapshot files. Table-driven, slicing-by-8: the WAL checksums
 * every byte it writes and reads, so this is on the hot path of every save.
 * Pure: no I/O.
 */

const POLYNOMIAL_REFLECTED = 0x82f63b78;
const TABLE_COUNT = 8;

/** TABLES[k][b] = CRC of byte b followed by k zero bytes (slicing-by-8). */
const TABLES: Uint32Array = buildTables();

function buildTables(): Uint32Array {
  const tables = new Uint32Array(256 * TABLE_COUNT);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL_REFLECTED : crc >>> 1;
    tables[byte] = crc >>> 0;
  }
  for (let byte = 0; byte < 256; byte++) {
    let crc = tables[byte] as number;
    for (let k = 1; k < TABLE_COUNT; k++) {
      crc = (tables[crc & 0xff] as number) ^ (crc >>> 8);
      tables[k * 256 + byte] = crc >>> 0;
    }
  }
  return tables;
}

/**
 * Extends `previous` (the CRC of the bytes before `bytes`, 0 to start) over
 * `bytes[start, end)`. `crc32c(b) === crc32cUpdate(0, b)`.
 */
export function crc32cUpdate(previous: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let crc = ~previous >>> 0;
  let position = start;
  // Slicing-by-8: eight bytes per iteration through eight tables.
  const fastEnd = end - ((end - start) % 8);
  while (position < fastEnd) {
    const low =
      (crc ^
        ((bytes[position] as number) |
          ((bytes[position + 1] as number) << 8) |
          ((bytes[position + 2] as number) << 16) |
          ((bytes[position + 3] as number) << 24))) >>>
      0;
    crc =
      (t[7 * 256 + (low & 0xff)] as number) ^
      (t[6 * 256 + ((low >>> 8) & 0xff)] as number) ^
      (t[5 * 256 + ((low >>> 16) & 0xff)] as number) ^
      (t[4 * 256 + (low >>> 24)] as number) ^
      (t[3 * 256 + (bytes[position + 4] as number)] as number) ^
      (t[2 * 256 + (bytes[position + 5] as number)] as number) ^
      (t[256 + (bytes[position + 6] as number)] as number) ^
      (t[bytes[position + 7] as number] as number);
    position += 8;
  }
  while (position < end) {
    crc = (t[(crc ^ (bytes[position] as number)) & 0xff] as number) ^ (crc >>> 8);
    position++;
  }
  return ~crc >>> 0;
}

/** CRC-32C of `bytes[start, end)` as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc32cUpdate(0, bytes, start, end);
}
