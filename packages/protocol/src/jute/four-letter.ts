/**
 * ZooKeeper's four-letter words (FourLetterCommands): on a fresh client
 * connection the first 4 bytes are either the big-endian length of the
 * ConnectRequest or an ASCII command such as "ruok". Every command read as an
 * int32 is far above any packet limit, so the two never collide. "stmk" is
 * followed by an 8-byte trace mask; 0xFFF4FFFD is telnet's "interrupt
 * process" sequence, which ZooKeeper answers by closing the connection.
 */

export const FOUR_LETTER_WORDS = [
  "conf",
  "cons",
  "crst",
  "dirs",
  "dump",
  "envi",
  "gtmk",
  "hash",
  "isro",
  "mntr",
  "ruok",
  "srst",
  "srvr",
  "stat",
  "stmk",
  "wchc",
  "wchp",
  "wchs",
] as const;
export type FourLetterWord = (typeof FOUR_LETTER_WORDS)[number];

/** FourLetterCommands.telnetCloseCmd: the bytes FF F4 FF FD. */
export const TELNET_CLOSE_COMMAND = -720899;

export type FourLetterDetection =
  /** Fewer than 4 bytes (or "stmk" without its 8-byte argument yet). */
  | { readonly kind: "needMore" }
  /** A command; `traceMask` only for "stmk". The server answers with text and closes. */
  | { readonly kind: "fourLetterWord"; readonly word: FourLetterWord; readonly traceMask?: bigint }
  /** Telnet's interrupt sequence: close the connection. */
  | { readonly kind: "telnetClose" }
  /** Not a command: a length-prefixed packet (the ConnectRequest). */
  | { readonly kind: "packet" };

const words: ReadonlySet<string> = new Set(FOUR_LETTER_WORDS);

/** Looks at the first bytes received on a new connection (before any connect request). Pure. */
export function detectFourLetterWord(prefix: Uint8Array): FourLetterDetection {
  if (prefix.byteLength < 4) return { kind: "needMore" };
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (view.getInt32(0, false) === TELNET_CLOSE_COMMAND) return { kind: "telnetClose" };
  const text = String.fromCharCode(prefix[0] as number, prefix[1] as number, prefix[2] as number, prefix[3] as number);
  if (!words.has(text)) return { kind: "packet" };
  const word = text as FourLetterWord;
  if (word === "stmk") {
    if (prefix.byteLength < 12) return { kind: "needMore" };
    return { kind: "fourLetterWord", word, traceMask: view.getBigInt64(4, false) };
  }
  return { kind: "fourLetterWord", word };
}
