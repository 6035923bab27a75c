export {};
// The public Client interface (api.ts), so recipes and the CLI can program against it.
export type * from "./api.js";
