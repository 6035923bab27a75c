import { DecodeFailure, readArray, readLiteral, readObject, readRaw, readString } from "./codec.js";
import type { Codec, JsonObject } from "./codec.js";
import type { FaultCommand } from "./fault-command.js";
import { MAX_NAME_LENGTH } from "./frame.js";

/**
 * Strict validation of FaultCommands, which may arrive from outside the
 * process (a Redis control stream in test mode): a malformed command is a
 * DecodeFailure and changes nothing.
 */

/** Most groups / endpoints per group accepted in one partition command. */
export const MAX_PARTITION_GROUPS = 64;
export const MAX_ENDPOINTS_PER_GROUP = 1024;
/** Longest delay a command may ask for (1 hour). */
export const MAX_FAULT_DELAY_MS = 3_600_000;

function readProbability(object: JsonObject, key: string): number | undefined | DecodeFailure {
  const value = readRaw(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) return new DecodeFailure("expected a probability in [0, 1]", key);
  return value;
}

function readDelay(object: JsonObject, key: string): number | undefined | DecodeFailure {
  const value = readRaw(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_FAULT_DELAY_MS) {
    return new DecodeFailure(`expected an integer delay in [0, ${MAX_FAULT_DELAY_MS}]`, key);
  }
  return value;
}

const endpointLimits = { minLength: 1, maxLength: MAX_NAME_LENGTH } as const;

export function decodeFaultCommand(input: unknown): FaultCommand | DecodeFailure {
  const object = readObject(input);
  if (object instanceof DecodeFailure) return object;
  const kind = readLiteral(object, "kind", ["set-link-faults", "partition", "block", "unblock", "heal"] as const);
  if (kind instanceof DecodeFailure) return kind;
  switch (kind) {
    case "heal":
      return { kind };
    case "block":
    case "unblock": {
      const from = readString(object, "from", endpointLimits);
      if (from instanceof DecodeFailure) return from;
      const to = readString(object, "to", endpointLimits);
      if (to instanceof DecodeFailure) return to;
      return { kind, from, to };
    }
    case "partition": {
      const groups = readArray(object, "groups", { maxLength: MAX_PARTITION_GROUPS }, (group, path) => {
        if (!Array.isArray(group)) return new DecodeFailure("expected an array of endpoint ids", path);
        if (group.length > MAX_ENDPOINTS_PER_GROUP) return new DecodeFailure(`group larger than ${MAX_ENDPOINTS_PER_GROUP}`, path);
        const members: string[] = [];
        for (const member of group as unknown[]) {
          if (typeof member !== "string" || member.length === 0 || member.length > MAX_NAME_LENGTH) return new DecodeFailure("expected an endpoint id", path);
          members.push(member);
        }
        return members;
      });
      if (groups instanceof DecodeFailure) return groups;
      return { kind, groups };
    }
    case "set-link-faults": {
      const from = readString(object, "from", endpointLimits);
      if (from instanceof DecodeFailure) return from;
      const to = readString(object, "to", endpointLimits);
      if (to instanceof DecodeFailure) return to;
      const drop = readProbability(object, "drop");
      if (drop instanceof DecodeFailure) return drop;
      const duplicate = readProbability(object, "duplicate");
      if (duplicate instanceof DecodeFailure) return duplicate;
      const reorder = readProbability(object, "reorder");
      if (reorder instanceof DecodeFailure) return reorder;
      const delayMsMin = readDelay(object, "delayMsMin");
      if (delayMsMin instanceof DecodeFailure) return delayMsMin;
      const delayMsMax = readDelay(object, "delayMsMax");
      if (delayMsMax instanceof DecodeFailure) return delayMsMax;
      if ((delayMsMin ?? 0) > (delayMsMax ?? delayMsMin ?? 0)) return new DecodeFailure("delayMsMin > delayMsMax", "delayMsMin");
      return {
        kind,
        from,
        to,
        ...(drop === undefined ? {} : { drop }),
        ...(duplicate === undefined ? {} : { duplicate }),
        ...(reorder === undefined ? {} : { reorder }),
        ...(delayMsMin === undefined ? {} : { delayMsMin }),
        ...(delayMsMax === undefined ? {} : { delayMsMax }),
      };
    }
  }
}

/** FaultCommands are plain JSON already; encoding is the identity. */
export const faultCommandCodec: Codec<FaultCommand> = {
  encode: (command) => command,
  decode: decodeFaultCommand,
};
