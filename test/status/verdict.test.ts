import { describe, expect, it } from "vitest";
import type { Action } from "../../controller/plan/actions.ts";
import type { Phase, SpecStatus } from "../../controller/plan/status.ts";
import { exitCodeOf, type VerdictInput, verdictOf } from "../../controller/status/verdict.ts";
import type { Diagnostic } from "../../controller/validation/result.ts";

function status(name: string, phase: Phase): SpecStatus {
  return { name, layer: "app", phase, message: `${name} is ${phase}`, channels: {}, builds: [] };
}

function tag(spec: string): Action {
  return {
    kind: "set-tags",
    spec,
    region: "us-east-1",
    build: "1.0.0+abcd1234",
    imageId: "ami-00000000000000001",
    tags: { "leaven.dev/channel/release": "true" },
    reason: "release selects 1.0.0+abcd1234",
  };
}

function terminate(spec: string): Action {
  return {
    kind: "terminate-instance",
    spec,
    region: "us-east-1",
    instanceId: "i-00000000000000001",
    reason: `spec ${spec} no longer exists`,
  };
}

function error(file: string, spec?: string): Diagnostic {
  return {
    severity: "error",
    position: { file, line: 3, column: 5 },
    path: "spec.version",
    message: "not a semantic version",
    ...(spec ? { spec } : {}),
  };
}

const NO_CREDENTIALS = "CredentialsProviderError: Could not load credentials from any providers";
const REFUSED = "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)";

function input(overrides: Partial<VerdictInput>): VerdictInput {
  return {
    command: "plan",
    diagnostics: [],
    statuses: [],
    actions: [],
    regionErrors: new Map(),
    ...overrides,
  };
}

interface Row {
  name: string;
  input: Partial<VerdictInput>;
  state: string;
  plain: number;
  detailed: number;
  headline: string;
}

const rows: Row[] = [
  {
    name: "every spec Ready, nothing to do",
    input: { statuses: [status("a", "Ready"), status("b", "Ready")] },
    state: "converged",
    plain: 0,
    detailed: 0,
    headline: "No changes. The images match the specs.",
  },
  {
    name: "Suspended counts as in place",
    input: { statuses: [status("a", "Ready"), status("s", "Suspended")] },
    state: "converged",
    plain: 0,
    detailed: 0,
    headline: "No changes. The images match the specs.",
  },
  {
    name: "no specs at all",
    input: {},
    state: "converged",
    plain: 0,
    detailed: 0,
    headline: "No changes. The images match the specs.",
  },
  {
    name: "actions to take",
    input: { statuses: [status("a", "Promoting")], actions: [tag("a"), tag("a"), terminate("gone")] },
    state: "changes",
    plain: 0,
    detailed: 2,
    headline: "Plan: 2 channel moves, 1 to terminate.",
  },
  {
    name: "actions for a deleted spec while every spec is Ready",
    input: { statuses: [status("a", "Ready")], actions: [terminate("gone")] },
    state: "changes",
    plain: 0,
    detailed: 2,
    headline: "Plan: 1 to terminate.",
  },
  {
    name: "a bake in flight, nothing to do this pass",
    input: { statuses: [status("a", "Baking"), status("b", "Ready")] },
    state: "in-progress",
    plain: 0,
    detailed: 2,
    headline: "Nothing to do until work in progress finishes: 1 spec baking: a.",
  },
  {
    name: "work in progress of every kind; a spec waiting on it is not a problem",
    input: {
      statuses: [
        status("a", "Baking"),
        status("b", "Copying"),
        status("c", "Copying"),
        status("d", "Promoting"),
        status("w", "Waiting"),
      ],
    },
    state: "in-progress",
    plain: 0,
    detailed: 2,
    headline:
      "Nothing to do until work in progress finishes: 1 spec baking: a; 2 specs copying: b, c; 1 spec promoting: d.",
  },
  {
    name: "waiting while there are actions",
    input: { statuses: [status("a", "Baking"), status("w", "Waiting")], actions: [tag("a")] },
    state: "changes",
    plain: 0,
    detailed: 2,
    headline: "Plan: 1 channel move.",
  },
  {
    name: "waiting with nothing to do and nothing in flight (the reconciler's stalled)",
    input: { statuses: [status("a", "Ready"), status("w", "Waiting")] },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "1 spec waiting with nothing in progress: w.",
  },
  {
    name: "a failed bake, nothing else to do",
    input: { statuses: [status("a", "Ready"), status("x", "Failed")] },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "1 spec failed: x.",
  },
  {
    name: "a failed bake wins over changes elsewhere",
    input: { statuses: [status("a", "Promoting"), status("x", "Failed")], actions: [tag("a")] },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "1 spec failed: x.",
  },
  {
    name: "stalled specs, with their dependants waiting on them",
    input: { statuses: [status("a", "Stalled"), status("b", "Stalled"), status("c", "Waiting")] },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "2 specs stalled: a, b.",
  },
  {
    name: "a spec blocked by its own invalid document",
    input: {
      statuses: [status("a", "Ready"), status("y", "Blocked")],
      diagnostics: [error("specs/y.yaml", "y")],
    },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "1 spec blocked by invalid input: y.",
  },
  {
    name: "a document too broken to name its spec",
    input: { statuses: [status("a", "Ready")], diagnostics: [error("specs/broken.yaml")] },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "Invalid input in specs/broken.yaml.",
  },
  {
    name: "warnings and notes are not invalid input",
    input: {
      statuses: [status("a", "Ready")],
      diagnostics: [
        { ...error("specs/a.yaml", "a"), severity: "warning" },
        { ...error("specs/a.yaml", "a"), severity: "note" },
      ],
    },
    state: "converged",
    plain: 0,
    detailed: 0,
    headline: "No changes. The images match the specs.",
  },
  {
    name: "regions that share an error are one problem; their blind specs are not listed again",
    input: {
      statuses: [status("a", "Waiting"), status("b", "Waiting")],
      regionErrors: new Map([
        ["us-east-1", NO_CREDENTIALS],
        ["eu-west-1", NO_CREDENTIALS],
      ]),
    },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline:
      "Cannot observe eu-west-1, us-east-1: no AWS credentials (CredentialsProviderError: Could not load credentials from any providers) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile.",
  },
  {
    name: "a region error alone (a vendor lookup) is enough, even with every spec Ready",
    input: { statuses: [status("a", "Ready")], regionErrors: new Map([["ap-southeast-2", REFUSED]]) },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline:
      "Cannot observe ap-southeast-2: cannot reach the EC2 endpoint (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)) — check --endpoint and the network.",
  },
  {
    name: "an unknown error is quoted as is, and a trailing period is not doubled",
    input: { regionErrors: new Map([["us-east-1", "Weird: something broke."]]) },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "Cannot observe us-east-1: Weird: something broke.",
  },
  {
    name: "every kind of problem at once, in a fixed order, each said once",
    input: {
      statuses: [
        status("f", "Failed"),
        status("s", "Stalled"),
        status("y", "Blocked"),
        status("w", "Waiting"),
        status("k", "Baking"),
      ],
      actions: [tag("k")],
      diagnostics: [error("specs/y.yaml", "y"), error("specs/broken.yaml")],
      regionErrors: new Map([
        ["us-east-1", "UnauthorizedOperation: You are not authorized to perform this operation."],
        ["eu-west-1", REFUSED],
      ]),
    },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline:
      "Cannot observe eu-west-1: cannot reach the EC2 endpoint (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)) — check --endpoint and the network; cannot observe us-east-1: not permitted (UnauthorizedOperation: You are not authorized to perform this operation.) — grant the EC2 permissions the README lists to the identity Leaven runs as; invalid input in specs/broken.yaml; 1 spec blocked by invalid input: y; 1 spec failed: f; 1 spec stalled: s.",
  },
  {
    name: "a long list names five specs and counts the rest",
    input: { statuses: ["a", "b", "c", "d", "e", "f", "g"].map((n) => status(n, "Failed")) },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "7 specs failed: a, b, c, d, e and 2 more.",
  },
  {
    name: "apply: converged",
    input: { command: "apply", statuses: [status("a", "Ready"), status("s", "Suspended")] },
    state: "converged",
    plain: 0,
    detailed: 0,
    headline: "The images match the specs.",
  },
  {
    name: "apply --once: work in flight",
    input: {
      command: "apply",
      statuses: [status("a", "Baking"), status("b", "Copying")],
      actions: [tag("b")],
    },
    state: "changes",
    plain: 0,
    detailed: 2,
    headline: "Not finished: 1 spec baking: a; 1 spec copying: b. Run apply again to continue.",
  },
  {
    name: "apply --once: actions but no spec in flight",
    input: { command: "apply", statuses: [status("a", "Ready")], actions: [terminate("gone")] },
    state: "changes",
    plain: 0,
    detailed: 2,
    headline: "Not finished: 1 to terminate this pass. Run apply again to continue.",
  },
  {
    name: "apply: problems read the same as for plan",
    input: { command: "apply", statuses: [status("x", "Failed")] },
    state: "problems",
    plain: 1,
    detailed: 1,
    headline: "1 spec failed: x.",
  },
];

describe("verdictOf", () => {
  it.each(rows)("$name", (row) => {
    const verdict = verdictOf(input(row.input));
    expect({
      state: verdict.state,
      plain: verdict.exitCode.plain,
      detailed: verdict.exitCode.detailed,
      headline: verdict.headline,
    }).toEqual({ state: row.state, plain: row.plain, detailed: row.detailed, headline: row.headline });
    expect(verdict.problems.length > 0).toBe(row.state === "problems");
  });

  it("lists every problem with whom it concerns, for --output json", () => {
    const verdict = verdictOf(
      input({
        statuses: [status("a", "Waiting"), status("y", "Blocked"), status("x", "Failed")],
        diagnostics: [error("specs/y.yaml", "y"), error("specs/broken.yaml")],
        regionErrors: new Map([
          ["us-east-1", NO_CREDENTIALS],
          ["eu-west-1", NO_CREDENTIALS],
        ]),
      }),
    );
    expect(verdict.problems).toEqual([
      {
        kind: "unobservable",
        message:
          "cannot observe eu-west-1, us-east-1: no AWS credentials (CredentialsProviderError: Could not load credentials from any providers) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile",
        specs: [],
        regions: ["eu-west-1", "us-east-1"],
        files: [],
        error: NO_CREDENTIALS,
      },
      {
        kind: "invalid",
        message: "invalid input in specs/broken.yaml",
        specs: [],
        regions: [],
        files: ["specs/broken.yaml"],
      },
      {
        kind: "blocked",
        message: "1 spec blocked by invalid input: y",
        specs: ["y"],
        regions: [],
        files: [],
      },
      { kind: "failed", message: "1 spec failed: x", specs: ["x"], regions: [], files: [] },
    ]);
  });

  it("names every spec in problems[] even when the headline stops at five", () => {
    const all = ["a", "b", "c", "d", "e", "f", "g"];
    const verdict = verdictOf(input({ statuses: all.map((n) => status(n, "Stalled")) }));
    expect(verdict.problems[0]?.specs).toEqual(all);
  });

  it("exitCodeOf picks the detailed code only with --detailed-exitcode", () => {
    const changes = verdictOf(input({ actions: [terminate("gone")] }));
    expect([exitCodeOf(changes, false), exitCodeOf(changes, true)]).toEqual([0, 2]);
    const failed = verdictOf(input({ statuses: [status("x", "Failed")] }));
    expect([exitCodeOf(failed, false), exitCodeOf(failed, true)]).toEqual([1, 1]);
    const clean = verdictOf(input({ statuses: [status("a", "Ready")] }));
    expect([exitCodeOf(clean, false), exitCodeOf(clean, true)]).toEqual([0, 0]);
  });
});
