/** The `connected` message's additive watchGap field: encoded only when set, optional on decode. */
import { describe, expect, it } from "vitest";
import { DecodeError, decodeNodeMessage, encodeNodeMessage, type NodeMessage } from "../src/index.js";

const base = { type: "connected", sessionId: 5, secret: "s", timeoutMs: 4000, nodeId: "n1", zxid: 17 } as const;

describe("connected.watchGap", () => {
  it("round-trips when set", () => {
    const message: NodeMessage = { ...base, watchGap: true };
    expect(encodeNodeMessage(message)).toEqual({ ...base, watchGap: true });
    expect(decodeNodeMessage(encodeNodeMessage(message))).toEqual(message);
  });

  it("is left out of the frame when false or absent, so frames stay as older nodes sent them", () => {
    expect(encodeNodeMessage({ ...base, watchGap: false })).toEqual(base);
    expect(encodeNodeMessage(base)).toEqual(base);
  });

  it("decodes a frame without it (an older node) as no gap, and an explicit false as absent", () => {
    expect(decodeNodeMessage(base)).toEqual(base);
    expect(decodeNodeMessage({ ...base, watchGap: false })).toEqual(base);
  });

  it("refuses a non-boolean watchGap with a typed error", () => {
    expect(decodeNodeMessage({ ...base, watchGap: "yes" })).toBeInstanceOf(DecodeError);
  });
});
