// Scheduled rebakes' windows on a manual clock: every-N windows, cron windows in time zones (daylight-saving
// changes included), a controller down across windows, two controllers in one window.
import { describe, expect, it } from "vitest";
import { CronError, nextFire, parseCron, previousFire } from "../../controller/schedule/cron.ts";
import { rebuildWindow } from "../../controller/schedule/rebuild-window.ts";
import { zonedInstant } from "../../controller/schedule/time-zone.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe("rebuildWindow: every", () => {
  it.each([
    // 14d windows are aligned to 1970-01-01 (a Thursday): 2026-11-19 and 2026-12-03 are window starts.
    ["14d", "2026-12-02T19:00:00Z", "2026-11-19T00:00Z", "2026-12-03T00:00:00.000Z"],
    ["14d", "2026-12-03T00:00:00Z", "2026-12-03T00:00Z", "2026-12-17T00:00:00.000Z"],
    ["14d", "2026-12-02T23:59:59Z", "2026-11-19T00:00Z", "2026-12-03T00:00:00.000Z"],
    ["1d", "2026-12-02T19:00:00Z", "2026-12-02T00:00Z", "2026-12-03T00:00:00.000Z"],
    ["6h", "2026-12-02T19:00:00Z", "2026-12-02T18:00Z", "2026-12-03T00:00:00.000Z"],
    ["1w", "2026-12-02T19:00:00Z", "2026-11-26T00:00Z", "2026-12-03T00:00:00.000Z"],
  ])("every %s at %s: window %s, next %s", (every, now, epoch, next) => {
    const window = rebuildWindow({ every }, at(now))!;
    expect(window.epoch).toBe(epoch);
    expect(iso(window.nextAt)).toBe(next);
    expect(window.schedule).toBe(`every ${every}`);
  });
});

describe("rebuildWindow: cron", () => {
  it.each([
    // Mondays 03:00 in Warsaw: 02:00Z in winter (CET), 01:00Z in summer (CEST).
    ["0 3 * * MON", "Europe/Warsaw", "2026-12-02T19:00:00Z", "2026-11-30T02:00Z", "2026-12-07T02:00:00.000Z"],
    ["0 3 * * MON", "Europe/Warsaw", "2026-07-01T00:00:00Z", "2026-06-29T01:00Z", "2026-07-06T01:00:00.000Z"],
    ["0 3 * * MON", "Europe/Warsaw", "2026-11-30T02:00:00Z", "2026-11-30T02:00Z", "2026-12-07T02:00:00.000Z"],
    ["0 3 * * MON", "Europe/Warsaw", "2026-11-30T01:59:00Z", "2026-11-23T02:00Z", "2026-11-30T02:00:00.000Z"],
    // Across the spring change (Warsaw 2027-03-28: 02:00 → 03:00): the Monday after is in summer time.
    ["0 3 * * MON", "Europe/Warsaw", "2027-03-27T12:00:00Z", "2027-03-22T02:00Z", "2027-03-29T01:00:00.000Z"],
    ["0 3 * * 1", undefined, "2026-12-02T19:00:00Z", "2026-11-30T03:00Z", "2026-12-07T03:00:00.000Z"],
    ["@daily", "America/New_York", "2026-12-02T19:00:00Z", "2026-12-02T05:00Z", "2026-12-03T05:00:00.000Z"],
    ["0 2 1,15 * *", "UTC", "2026-12-02T19:00:00Z", "2026-12-01T02:00Z", "2026-12-15T02:00:00.000Z"],
    [
      "30 4 * * SAT,SUN",
      "Asia/Kolkata",
      "2026-12-02T19:00:00Z",
      "2026-11-28T23:00Z",
      "2026-12-04T23:00:00.000Z",
    ],
  ])("%s in %s at %s: window %s, next %s", (cron, timezone, now, epoch, next) => {
    const window = rebuildWindow(timezone ? { cron, timezone } : { cron }, at(now))!;
    expect(window.epoch).toBe(epoch);
    expect(iso(window.nextAt)).toBe(next);
  });

  it("a local time the spring change skips never fires; one the autumn change repeats fires once", () => {
    // Warsaw 2027-03-28 02:30 does not exist; 2026-10-25 02:30 happens twice (CEST, then CET).
    expect(
      zonedInstant({ year: 2027, month: 3, day: 28, hour: 2, minute: 30 }, "Europe/Warsaw"),
    ).toBeUndefined();
    expect(iso(zonedInstant({ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, "Europe/Warsaw"))).toBe(
      "2026-10-25T00:30:00.000Z",
    );
    const daily = parseCron("30 2 * * *");
    expect(iso(nextFire(daily, "Europe/Warsaw", at("2027-03-27T12:00:00Z")))).toBe(
      "2027-03-29T00:30:00.000Z",
    );
    expect(iso(nextFire(daily, "Europe/Warsaw", at("2026-10-25T00:30:00Z")))).toBe(
      "2026-10-26T01:30:00.000Z",
    );
  });

  it("both day fields restricted: a day matches either (crontab(5))", () => {
    const cron = parseCron("0 0 13 * FRI");
    // 2026-12-04 is a Friday; the 13th is a Sunday.
    expect(iso(nextFire(cron, "UTC", at("2026-12-02T00:00:00Z")))).toBe("2026-12-04T00:00:00.000Z");
    expect(iso(previousFire(cron, "UTC", at("2026-12-14T00:00:00Z")))).toBe("2026-12-13T00:00:00.000Z");
  });
});

describe("windows are fixed by the schedule and the clock alone", () => {
  const schedules = [{ every: "14d" }, { cron: "0 3 * * MON", timezone: "Europe/Warsaw" }];

  it.each(schedules)(
    "a controller down across windows plans one build, the current window's (%o)",
    (schedule) => {
      const before = rebuildWindow(schedule, at("2026-11-01T12:00:00Z"))!;
      // Down for five weeks: on waking it wants one build, of the window it woke in, not one per missed window.
      const woke = rebuildWindow(schedule, at("2026-12-06T12:00:00Z"))!;
      expect(woke.epoch).not.toBe(before.epoch);
      expect(woke.startsAt).toBeLessThanOrEqual(at("2026-12-06T12:00:00Z"));
      expect(woke.nextAt).toBeGreaterThan(at("2026-12-06T12:00:00Z"));
    },
  );

  it.each(schedules)("two controllers at any two times in one window agree on its epoch (%o)", (schedule) => {
    const first = rebuildWindow(schedule, at("2026-12-02T19:00:00Z"))!;
    for (let t = first.startsAt; t < first.nextAt; t += 3_600_000 * 7 + 13_000)
      expect(rebuildWindow(schedule, t)!.epoch).toBe(first.epoch);
    expect(rebuildWindow(schedule, first.nextAt)!.epoch).not.toBe(first.epoch);
  });
});

describe("parseCron", () => {
  it.each([
    ["0 3 * *", '"0 3 * *" has 4 field(s); expected five fields'],
    ["61 3 * * *", "minute 61 is out of range (0–59)"],
    ["0 3 * * FUN", '"FUN" is not a day of week (0–7 or SUN–SAT)'],
    ["0 5-3 * * *", "hour range 5-3 runs backwards"],
    ["*/0 * * * *", '"/0" is not a step (a whole number from 1)'],
    ["0 3 * JANUARY *", '"JANUARY" is not a month (1–12 or JAN–DEC)'],
  ])("%s: %s", (expression, message) => {
    expect(() => parseCron(expression)).toThrow(CronError);
    expect(() => parseCron(expression)).toThrow(message);
  });

  it("reads names, ranges, steps, lists and 7 as Sunday", () => {
    const cron = parseCron("*/15 9-17/4 1,15 jan-mar 7");
    expect(cron.minutes).toEqual([0, 15, 30, 45]);
    expect(cron.hours).toEqual([9, 13, 17]);
    expect([...cron.days]).toEqual([1, 15]);
    expect([...cron.months]).toEqual([1, 2, 3]);
    expect([...cron.weekdays]).toEqual([0]);
  });
});
