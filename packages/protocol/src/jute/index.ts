/** ZooKeeper's client wire protocol (jute): pure codecs, framing and mappings onto Corral's types. */
export { JuteError, isJuteError, type JuteErrorCode, type JuteLimitName } from "./errors.js";
export { JuteReader, JuteWriter, defaultJuteLimits, type JuteLimits } from "./archive.js";
export * from "./records.js";
export * from "./packets.js";
export * from "./framer.js";
export * from "./four-letter.js";
export * from "./corral.js";
