import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BadArgumentsError, ErrorCode, basename, formatSequence, isReservedPath, parentPath, validatePath } from "../src/index.js";

describe("validatePath (ZooKeeper PathUtils rules)", () => {
  const valid = ["/", "/a", "/a/b", "/a.b", "/..a", "/a..", "/.a", "/a/.b/c", "/zookeeper", "/ü/日本"];
  const invalid = ["", "a", "a/b", "/a/", "//", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a/..", "/a\u0000b", "/a\u0001", "/a\u007f", "/a\u009f", "/\ud83d\ude00", "/\uf8ff", "/\ufff0", "/\uffff"];
  it.each(valid)("accepts %j", (path) => {
    expect(validatePath(path)).toBeUndefined();
  });
  it.each(invalid)("rejects %j with BadArguments", (path) => {
    const error = validatePath(path);
    expect(error).toBeInstanceOf(BadArgumentsError);
    expect(error?.code).toBe(ErrorCode.BadArguments);
  });
  it("allows a trailing slash for a sequential prefix", () => {
    expect(validatePath("/a/", { sequential: true })).toBeUndefined();
    expect(validatePath("/a/", { sequential: false })).toBeInstanceOf(BadArgumentsError);
  });
  it("enforces the configured maximum length including the sequence suffix", () => {
    const limits = { maxPathLength: 20 };
    expect(validatePath(`/${"a".repeat(19)}`, { limits })).toBeUndefined();
    expect(validatePath(`/${"a".repeat(20)}`, { limits })).toBeInstanceOf(BadArgumentsError);
    expect(validatePath(`/${"a".repeat(10)}`, { limits, sequential: true })).toBeInstanceOf(BadArgumentsError);
  });
  it("rejects non-strings", () => {
    expect(validatePath(42)).toBeInstanceOf(BadArgumentsError);
  });
  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.anything()), fc.boolean(), (path, sequential) => {
        const error = validatePath(path, { sequential });
        expect(error === undefined || error instanceof BadArgumentsError).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("path helpers", () => {
  it("parent and basename", () => {
    expect(parentPath("/a")).toBe("/");
    expect(parentPath("/a/b/c")).toBe("/a/b");
    expect(basename("/a/b")).toBe("b");
    expect(basename("/")).toBe("");
  });
  it("formats sequence numbers like %010d", () => {
    expect(formatSequence(0)).toBe("0000000000");
    expect(formatSequence(42)).toBe("0000000042");
    expect(formatSequence(2147483647)).toBe("2147483647");
    expect(formatSequence(-5)).toBe("-000000005");
  });
  it("reserves /corral and below only", () => {
    expect(isReservedPath("/corral")).toBe(true);
    expect(isReservedPath("/corral/config")).toBe(true);
    expect(isReservedPath("/corralx")).toBe(false);
    expect(isReservedPath("/a/corral")).toBe(false);
  });
});

describe("validatePath on objects that cannot become strings", () => {
  it("returns BadArguments for a null-prototype object", () => {
    expect(validatePath(Object.create(null))).toBeInstanceOf(BadArgumentsError);
  });
});
