// SimulatorOptions.awkward (controller/sim/awkward.ts): off by default, `true` is everything with the
// documented defaults, an object overrides them; and the simulator reports what is in force.
import { describe, expect, it } from "vitest";
import {
  AWKWARD_DEFAULTS,
  AWKWARD_NONE,
  type AwkwardOptions,
  awkwardSummary,
  resolveAwkward,
} from "../../controller/sim/awkward.ts";
import { startTestSim } from "./helpers.ts";

const MINUTE = 60_000;

describe("resolveAwkward", () => {
  it("documents its defaults", () => {
    expect(AWKWARD_DEFAULTS).toEqual({
      console: true,
      consoleLagMs: 3 * MINUTE,
      consoleRetentionMs: 60 * MINUTE,
      tokenExpiry: true,
      tokenLifetimeMs: 24 * 60 * MINUTE,
      consistency: true,
      consistencyLagMs: 5_000,
      snapshotInUseMs: MINUTE,
      consumerAccount: true,
      consumerOrganizations: [],
      defaultEncryption: true,
    });
  });

  it.each([
    ["absent", undefined, AWKWARD_NONE],
    ["false", false, AWKWARD_NONE],
    ["true", true, AWKWARD_DEFAULTS],
    ["{}", {}, AWKWARD_DEFAULTS],
    ["{ consistency: false }", { consistency: false }, { ...AWKWARD_DEFAULTS, consistency: false }],
    [
      "{ consoleLagMs: 20 min }",
      { consoleLagMs: 20 * MINUTE },
      { ...AWKWARD_DEFAULTS, consoleLagMs: 20 * MINUTE },
    ],
    [
      "{ ...AWKWARD_NONE, console: true }",
      { ...AWKWARD_NONE, console: true },
      { ...AWKWARD_NONE, console: true },
    ],
    ["{ console: undefined }", { console: undefined }, AWKWARD_DEFAULTS],
  ] as [string, boolean | Partial<AwkwardOptions> | undefined, AwkwardOptions][])(
    "%s",
    (_, option, expected) => {
      expect(resolveAwkward(option)).toEqual(expected);
    },
  );

  it.each(["consoleLagMs", "consistencyLagMs", "tokenLifetimeMs"] as const)(
    "refuses a negative %s",
    (key) => {
      expect(() => resolveAwkward({ [key]: -1 })).toThrow(
        `awkward.${key} must be a duration in milliseconds, not -1.`,
      );
    },
  );

  it("summarises what is on", () => {
    expect(awkwardSummary(AWKWARD_DEFAULTS)).toEqual([
      "console (lag ≤ 180 s)",
      "token expiry",
      "consistency (lag ≤ 5 s)",
      "consumer account",
      "default EBS encryption",
    ]);
    expect(awkwardSummary(AWKWARD_NONE)).toEqual([]);
  });

  it("is off in startSimulator unless asked for, and reported on the simulator", async () => {
    const plain = await startTestSim();
    const awkward = await startTestSim({ awkward: { consoleLagMs: 20 * MINUTE } });
    try {
      expect(plain.sim.awkward).toEqual(AWKWARD_NONE);
      expect(awkward.sim.awkward).toEqual({ ...AWKWARD_DEFAULTS, consoleLagMs: 20 * MINUTE });
    } finally {
      await plain.sim.close();
      await awkward.sim.close();
    }
  });
});
