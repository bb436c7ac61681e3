// Five-field cron expressions (minute hour day-of-month month day-of-week, as crontab(5) reads them) evaluated
// in an IANA time zone: the fire time at or before an instant, and the next one after it. Used for scheduled
// rebakes, where a window is the time from one fire to the next.
import { zonedInstant, zonedParts } from "./time-zone.ts";

export interface Cron {
  minutes: readonly number[];
  hours: readonly number[];
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** crontab(5): when both day fields are restricted, a day matches if either does. */
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MACROS: Record<string, string> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** The first name's number (JAN is 1, SUN is 0). */
  namesFrom?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too, as in crontab(5).
  { name: "day of week", min: 0, max: 7, names: WEEKDAYS, namesFrom: 0 },
];

/** Words shown to users when a cron expression is malformed. */
export const CRON_EXPECTED =
  'five fields "MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK", e.g. "0 3 * * MON", or @daily, @weekly, @monthly';

export class CronError extends Error {}

function value(text: string, field: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  if (named !== -1) return named + field.namesFrom!;
  if (!/^[0-9]+$/.test(text))
    throw new CronError(
      `"${text}" is not a ${field.name} (${field.min}–${field.max}${field.names ? ` or ${field.names[0]}–${field.names.at(-1)}` : ""})`,
    );
  const n = Number(text);
  if (n < field.min || n > field.max)
    throw new CronError(`${field.name} ${n} is out of range (${field.min}–${field.max})`);
  return n;
}

function parseField(text: string, field: FieldSpec): { values: number[]; restricted: boolean } {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range, stepText, extra] = part.split("/");
    if (extra !== undefined || range === undefined || range === "")
      throw new CronError(`"${part}" is not a ${field.name} (a value, a range a-b, * and an optional /step)`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || !/^[0-9]+$/.test(stepText ?? "1"))
      throw new CronError(`"/${stepText}" is not a step (a whole number from 1)`);
    let from: number;
    let to: number;
    if (range === "*") {
      from = field.min;
      to = field.max;
    } else if (range.includes("-")) {
      const [a, b] = range.split("-");
      from = value(a ?? "", field);
      to = value(b ?? "", field);
      if (to < from) throw new CronError(`${field.name} range ${range} runs backwards`);
    } else {
      from = value(range, field);
      to = stepText === undefined ? from : field.max;
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return { values: [...values].sort((a, b) => a - b), restricted: text !== "*" };
}

/** Parses a cron expression; throws CronError naming the field that is wrong. */
export function parseCron(expression: string): Cron {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    throw new CronError(`"${expression}" has ${parts.length} field(s); expected ${CRON_EXPECTED}`);
  const [minute, hour, day, month, weekday] = parts.map((part, i) => parseField(part, FIELDS[i]!));
  return {
    minutes: minute!.values,
    hours: hour!.values,
    days: new Set(day!.values),
    months: new Set(month!.values),
    weekdays: new Set(weekday!.values.map((d) => d % 7)),
    daysRestricted: day!.restricted,
    weekdaysRestricted: weekday!.restricted,
  };
}

function dayMatches(cron: Cron, year: number, month: number, day: number): boolean {
  if (!cron.months.has(month)) return false;
  const dom = cron.days.has(day);
  const dow = cron.weekdays.has(new Date(Date.UTC(year, month - 1, day)).getUTCDay());
  if (cron.daysRestricted && cron.weekdaysRestricted) return dom || dow;
  return dom && dow;
}

/** How far back or ahead a fire is looked for: far enough for "29 2 *"-style leap-day schedules. */
const SEARCH_DAYS = 366 * 8;

/**
 * The latest fire time at or before `now`, in epoch ms; undefined when none is within 8 years. A local time
 * that a daylight-saving change skips never fires; one it repeats fires at its first occurrence.
 */
export function previousFire(cron: Cron, timeZone: string, now: number): number | undefined {
  const local = zonedParts(now, timeZone);
  for (let back = 0; back <= SEARCH_DAYS; back++) {
    const date = new Date(Date.UTC(local.year, local.month - 1, local.day - back));
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(cron, y, m, d)) continue;
    for (let h = cron.hours.length - 1; h >= 0; h--) {
      const hour = cron.hours[h]!;
      if (back === 0 && hour > local.hour + 1) continue;
      for (let i = cron.minutes.length - 1; i >= 0; i--) {
        const at = zonedInstant({ year: y, month: m, day: d, hour, minute: cron.minutes[i]! }, timeZone);
        if (at !== undefined && at <= now) return at;
      }
    }
  }
  return undefined;
}

/** The first fire time after `now`, in epoch ms; undefined when none is within 8 years. */
export function nextFire(cron: Cron, timeZone: string, now: number): number | undefined {
  const local = zonedParts(now, timeZone);
  for (let ahead = 0; ahead <= SEARCH_DAYS; ahead++) {
    const date = new Date(Date.UTC(local.year, local.month - 1, local.day + ahead));
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (!dayMatches(cron, y, m, d)) continue;
    for (const hour of cron.hours) {
      if (ahead === 0 && hour < local.hour - 1) continue;
      for (const minute of cron.minutes) {
        const at = zonedInstant({ year: y, month: m, day: d, hour, minute }, timeZone);
        if (at !== undefined && at > now) return at;
      }
    }
  }
  return undefined;
}
