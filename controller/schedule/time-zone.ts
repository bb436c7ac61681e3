// Wall-clock time in an IANA time zone, from Node's ICU (Intl): an instant's local date and time, and the
// instant of a local date and time, across daylight-saving changes.

export interface LocalTime {
  year: number;
  /** 1–12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Whether Intl knows the zone (e.g. Europe/Warsaw, UTC). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Every zone Intl knows, for "did you mean". */
export function timeZoneNames(): string[] {
  return [...Intl.supportedValuesOf("timeZone"), "UTC"];
}

/** The local date and time of an instant (epoch ms) in a zone. */
export function zonedParts(instant: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant))
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
  };
}

function asUtc(local: LocalTime): number {
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
}

/** The zone's offset from UTC at an instant, in ms (Warsaw in winter: +3,600,000). */
function offsetAt(instant: number, timeZone: string): number {
  const floored = Math.floor(instant / 60_000) * 60_000;
  return asUtc(zonedParts(floored, timeZone)) - floored;
}

/**
 * The instant a local time happens in a zone: the earlier one when a daylight-saving change repeats it,
 * undefined when the change skips it.
 */
export function zonedInstant(local: LocalTime, timeZone: string): number | undefined {
  const wall = asUtc(local);
  const candidates = new Set<number>();
  // The offsets on either side of any change near this time: one of them is the one in force.
  for (const probe of [wall - 86_400_000, wall, wall + 86_400_000])
    candidates.add(wall - offsetAt(probe, timeZone));
  const matching = [...candidates]
    .filter((at) => asUtc(zonedParts(at, timeZone)) === wall)
    .sort((a, b) => a - b);
  return matching[0];
}
