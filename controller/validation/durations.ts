// Durations in the API are strings such as 30m, 12h, 7d: a whole number and one unit.

/** The pattern every duration field must match (the same as the schema's Duration definition). */
export const DURATION_PATTERN = /^[0-9]+(s|m|h|d|w)$/;

const unitMs: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Words shown to users when a duration is malformed. */
export const DURATION_EXPECTED = "a whole number followed by s, m, h, d or w, e.g. 30m, 7d";

export function isDuration(value: string): boolean {
  return DURATION_PATTERN.test(value);
}

/** Milliseconds in a duration string like `30m`; throws a RangeError naming the valid form when malformed. */
export function parseDuration(value: string): number {
  const match = DURATION_PATTERN.exec(value);
  if (!match) throw new RangeError(`"${value}" is not a duration (expected ${DURATION_EXPECTED})`);
  const amount = Number(value.slice(0, -1));
  return amount * unitMs[match[1] as string]!;
}
