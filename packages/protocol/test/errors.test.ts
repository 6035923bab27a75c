import { describe, expect, it } from "vitest";
import { CorralCode, CorralError, ErrorCode, ErrorCodeName, NoNodeError, NodeExistsError, SystemError, digestId, errorFromCode } from "../src/index.js";

describe("error codes", () => {
  it("keep ZooKeeper's numbers", () => {
    expect(ErrorCode.NoNode).toBe(-101);
    expect(ErrorCode.NodeExists).toBe(-110);
    expect(ErrorCode.BadVersion).toBe(-103);
    expect(ErrorCode.NotEmpty).toBe(-111);
    expect(ErrorCode.NoChildrenForEphemerals).toBe(-108);
    expect(ErrorCode.SessionExpired).toBe(-112);
    expect(ErrorCodeName[-101]).toBe("NoNode");
    expect(ErrorCodeName[CorralCode.NotLeader]).toBe("NotLeader");
  });
  it("errorFromCode builds the typed class for every code", () => {
    for (const [name, code] of Object.entries({ ...ErrorCode, ...CorralCode })) {
      if (code === 0) continue;
      const error = errorFromCode(code, "/p");
      expect(error).toBeInstanceOf(CorralError);
      expect(error._tag).toBe(name);
      expect(error.code).toBe(code);
      expect(error.path).toBe("/p");
    }
    expect(errorFromCode(ErrorCode.NoNode)).toBeInstanceOf(NoNodeError);
    expect(new NodeExistsError("/x").message).toContain("/x");
  });
  it("maps unknown codes to SystemError instead of throwing", () => {
    expect(errorFromCode(-9999)).toBeInstanceOf(SystemError);
  });
});

describe("digestId", () => {
  it("is user:base64(sha1(user:password)) as ZooKeeper's DigestAuthenticationProvider", () => {
    // Known value: ZooKeeper's docs use super:admin -> super:xQJmxLMiHGwaqBvst5y6rkB6HQs=
    expect(digestId("super", "admin")).toBe("super:xQJmxLMiHGwaqBvst5y6rkB6HQs=");
  });
});
