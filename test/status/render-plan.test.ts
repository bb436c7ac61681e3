import { describe, expect, it } from "vitest";
import type { Action } from "../../controller/plan/actions.ts";
import type { Plan } from "../../controller/plan/plan.ts";
import type { Phase, SpecStatus } from "../../controller/plan/status.ts";
import { planToJson, renderPlan } from "../../controller/status/render-plan.ts";
import { verdictOf } from "../../controller/status/verdict.ts";

function status(name: string, phase: Phase, message = `${name} is ${phase}`): SpecStatus {
  return { name, layer: "app", phase, message, channels: {}, builds: [] };
}

const terminate: Action = {
  kind: "terminate-instance",
  spec: "gone",
  region: "us-east-1",
  instanceId: "i-0123456789abcdef0",
  reason: "spec gone no longer exists",
};

function render(plan: Plan, regionErrors = new Map<string, string>()): string {
  const verdict = verdictOf({ command: "plan", diagnostics: [], ...plan, regionErrors });
  return renderPlan(plan, verdict);
}

describe("renderPlan", () => {
  it('says "No changes." and nothing else only when every spec is Ready and nothing is to be done', () => {
    expect(render({ actions: [], statuses: [status("a", "Ready")], bakeRegions: [] })).toBe(
      "No changes. The images match the specs.\n",
    );
  });

  it("ends with the plan's summary once when there are changes", () => {
    expect(render({ actions: [terminate], statuses: [status("a", "Ready")], bakeRegions: [] })).toBe(
      [
        "Leaven will perform the following actions:",
        "",
        "  # gone",
        "  - terminate    us-east-1      i-0123456789abcdef0",
        "      because spec gone no longer exists",
        "",
        "Plan: 1 to terminate.",
        "",
      ].join("\n"),
    );
  });

  it("shows a failure being recorded and a record being forgotten, with their counts", () => {
    const record: Action = {
      kind: "record-failure",
      spec: "ledger",
      build: "2.0.3+0badcafe",
      region: "us-east-1",
      template: {
        name: "leaven-failed-ledger-2.0.3_0badcafe",
        clientToken: "t",
        launch: { imageId: "ami-1", instanceType: "t3.medium", userData: "#!/bin/bash\n" },
        tags: {},
      },
      reason: "the failure of 2.0.3+0badcafe on i-1 must outlive its instance",
    };
    const forget: Action = {
      kind: "delete-failure-record",
      spec: "ledger",
      build: "2.0.2+0badcafe",
      region: "us-east-1",
      launchTemplateId: "lt-0123456789abcdef0",
      reason: "build 2.0.2+0badcafe is no longer wanted",
    };
    const plan: Plan = { actions: [record, forget], statuses: [status("ledger", "Ready")], bakeRegions: [] };
    expect(render(plan)).toBe(
      [
        "Leaven will perform the following actions:",
        "",
        "  # ledger",
        '  + record       us-east-1      failure of 2.0.3+0badcafe as launch template "leaven-failed-ledger-2.0.3_0badcafe"',
        "      because the failure of 2.0.3+0badcafe on i-1 must outlive its instance",
        "  - forget       us-east-1      failure record lt-0123456789abcdef0 (2.0.2+0badcafe)",
        "      because build 2.0.2+0badcafe is no longer wanted",
        "",
        "Plan: 1 to record, 1 to forget.",
        "",
      ].join("\n"),
    );
    const verdict = verdictOf({ command: "plan", diagnostics: [], ...plan, regionErrors: new Map() });
    const json = planToJson(plan, verdict, 2) as {
      actions: { template?: { launch: { userData: string } } }[];
    };
    // The user data is shown by size, as for a launch.
    expect(json.actions[0]?.template?.launch.userData).toBe("(12 bytes)");
  });

  it("shows a verdict recorded on an instance and a snapshot to delete, each with its reason", () => {
    const verdict: Action = {
      kind: "tag-instance",
      spec: "ledger",
      build: "2.0.3+0badcafe",
      region: "us-east-1",
      instanceId: "i-0123456789abcdef0",
      tags: { "leaven.dev/bake-result": "success" },
      reason: "the console of i-0123456789abcdef0 says the bake of 2.0.3+0badcafe succeeded",
    };
    const sweep: Action = {
      kind: "delete-snapshot",
      spec: "ledger",
      build: "2.0.1+0badcafe",
      region: "eu-west-1",
      snapshotId: "snap-0123456789abcdef0",
      reason: "no image in eu-west-1 uses it (5h old, made for ami-0123456789abcdef0, which is gone)",
    };
    expect(
      render({ actions: [verdict, sweep], statuses: [status("ledger", "Ready")], bakeRegions: [] }),
    ).toBe(
      [
        "Leaven will perform the following actions:",
        "",
        "  # ledger",
        "  ~ tag instance us-east-1      i-0123456789abcdef0 (2.0.3+0badcafe) leaven.dev/bake-result=success",
        "      because the console of i-0123456789abcdef0 says the bake of 2.0.3+0badcafe succeeded",
        "  - delete       eu-west-1      snapshot snap-0123456789abcdef0 (2.0.1+0badcafe)",
        "      because no image in eu-west-1 uses it (5h old, made for ami-0123456789abcdef0, which is gone)",
        "",
        "Plan: 1 tag update, 1 snapshot to delete.",
        "",
      ].join("\n"),
    );
  });

  it("ends with the problem after the summary when there are changes and a failed spec", () => {
    const text = render({ actions: [terminate], statuses: [status("x", "Failed")], bakeRegions: [] });
    expect(
      text.endsWith(
        "\n  x                    Failed    x is Failed\n\nPlan: 1 to terminate.\n1 spec failed: x.\n",
      ),
    ).toBe(true);
  });

  it("says a region's error once, in the headline, not in every blind spec's line", () => {
    const error = "CredentialsProviderError: Could not load credentials from any providers";
    const blind = `cannot observe us-east-1 (${error}), eu-west-1 (${error}); nothing is changed for this spec until it can`;
    const text = render(
      {
        actions: [],
        statuses: [status("a", "Waiting", blind), status("b", "Waiting", blind)],
        bakeRegions: [],
      },
      new Map([
        ["us-east-1", error],
        ["eu-west-1", error],
      ]),
    );
    expect(text).toBe(
      [
        "Specs not ready:",
        "  a                    Waiting   cannot observe us-east-1, eu-west-1; nothing is changed for this spec until it can",
        "  b                    Waiting   cannot observe us-east-1, eu-west-1; nothing is changed for this spec until it can",
        "",
        `Cannot observe eu-west-1, us-east-1: no AWS credentials (${error}) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile.`,
        "",
      ].join("\n"),
    );
  });
});

describe("planToJson", () => {
  it("carries the verdict with the exit code of the run beside actions, summary and statuses", () => {
    const plan: Plan = { actions: [terminate], statuses: [status("a", "Ready")], bakeRegions: [] };
    const verdict = verdictOf({ command: "plan", diagnostics: [], ...plan, regionErrors: new Map() });
    expect(planToJson(plan, verdict, 2)).toEqual({
      verdict: { state: "changes", exitCode: 2, headline: "Plan: 1 to terminate.", problems: [] },
      actions: [terminate],
      summary: "1 to terminate",
      statuses: plan.statuses,
    });
  });
});
