export * from "./errors.js";
export * from "./types.js";
export * from "./paths.js";
export * from "./acl.js";
export * from "./ops.js";
export * from "./codec.js";
export * from "./session.js";
export * from "./jute/index.js";
