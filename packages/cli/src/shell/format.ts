/** How the shell prints znode data, Stats and watch events. Pure. */
import { EventType, StatFields, type Stat } from "@corral/protocol";
import type { WatchedEvent } from "@corral/client";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Data as text when it is valid UTF-8, else as 0x-prefixed hex (binary never garbles the terminal). */
export function formatData(data: Uint8Array): string {
  try {
    const text = utf8.decode(data);
    // Control characters other than tab/newline would garble the terminal as well.
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return text;
  } catch {
    // not UTF-8: fall through to hex
  }
  return `0x${Buffer.from(data).toString("hex")}`;
}

export function hexId(value: number): string {
  return `0x${value.toString(16)}`;
}

/** One `name = value` line per Stat field, in ZooKeeper's order. */
export function formatStat(stat: Stat): string[] {
  return StatFields.map((field) => {
    const value = stat[field];
    if (field === "ctime" || field === "mtime") return `${field} = ${new Date(value).toISOString()}`;
    if (field === "ephemeralOwner") return `${field} = ${hexId(value)}`;
    return `${field} = ${value}`;
  });
}

const eventNames = new Map<number, string>(Object.entries(EventType).map(([name, value]) => [value, name]));

export function eventTypeName(type: number): string {
  return eventNames.get(type) ?? `Unknown(${type})`;
}

export function formatEvent(event: WatchedEvent, label = "WATCHER"): string {
  return `${label}:: ${eventTypeName(event.type)} ${event.path} (zxid ${event.zxid})`;
}
