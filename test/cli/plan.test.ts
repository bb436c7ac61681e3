import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";

function lastLine(text: string): string | undefined {
  return text.trimEnd().split("\n").at(-1);
}

/** Edits one spec file of a scratch estate. */
function edit(dir: string, file: string, change: (text: string) => string): void {
  const path = join(dir, "specs", file);
  writeFileSync(path, change(readFileSync(path, "utf8")));
}

describe("leaven plan on the simulator", () => {
  it("renders what apply would do, where and why, and exits 2 with --detailed-exitcode", async () => {
    const dir = scratchEstate();
    const run = await runCli(
      ["plan", "specs", "--detailed-exitcode", "--sim-state", join(dir, "sim.json")],
      dir,
    );
    expect(run.code).toBe(2);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe("Leaven will perform the following actions:");
    expect(run.stdout).toMatch(
      /^ {2}# ubuntu-base\n {2}\+ bake {9}us-east-1 {6}2\.3\.0\+[0-9a-f]{8} on ami-[0-9a-f]{17} \(t3\.medium, root volume encrypted with arn:aws:kms:us-east-1:123456789012:key\/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\)\n {6}because no image of build 2\.3\.0\+[0-9a-f]{8} exists \(recipe [0-9a-f]{8} on ubuntu-jammy\/release = ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\d{8}\)$/m,
    );
    // Publishing is on by default: the foundations' channels resolve at once and are published per region.
    expect(run.stdout).toMatch(
      /^ {2}# ubuntu-jammy\n {2}\+ publish {6}us-east-1 {6}\/leaven\/ubuntu-jammy\/candidate = (ami-[0-9a-f]{17}) \(new\)\n {6}because channel candidate of ubuntu-jammy is ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\d{8} \(\1\) in us-east-1 and is not published yet$/m,
    );
    expect(run.stdout).toContain("Plan: 2 to bake, 10 to publish; on the embedded simulator — not AWS.");
    expect(lastLine(run.stdout)).toBe("Plan: 2 to bake, 10 to publish; on the embedded simulator — not AWS.");
    expect(run.stdout.split("Plan: ")).toHaveLength(2);
    expect(run.stdout).toMatch(
      /^ {2}order-worker {9}Waiting {3}waiting for ubuntu-base\/release: no ready build yet/m,
    );
    expect(run.stderr).toContain("embedded EC2 simulator");
  });

  it("prints the plan as JSON without the user data", async () => {
    const dir = scratchEstate();
    const run = await runCli(
      ["plan", "specs", "--output", "json", "--sim-state", join(dir, "sim.json")],
      dir,
    );
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as {
      verdict: unknown;
      actions: Record<string, unknown>[];
      summary: string;
    };
    expect(plan.verdict).toEqual({
      state: "changes",
      exitCode: 0,
      headline: "Plan: 2 to bake, 10 to publish.",
      problems: [],
    });
    expect(plan.summary).toBe("2 to bake, 10 to publish");
    expect(
      plan.actions.map((a) => [a.kind, a.spec, a.region, (a.parameter as { name?: string })?.name]),
    ).toEqual([
      ["launch-bake", "al2023-base", "us-east-1", undefined],
      ["launch-bake", "ubuntu-base", "us-east-1", undefined],
      ["put-parameter", "al2023", "us-east-1", "/leaven/al2023/candidate"],
      ["put-parameter", "al2023", "us-east-1", "/leaven/al2023/release"],
      ["put-parameter", "al2023", "eu-west-1", "/leaven/al2023/candidate"],
      ["put-parameter", "al2023", "eu-west-1", "/leaven/al2023/release"],
      ["put-parameter", "al2023", "ap-southeast-2", "/leaven/al2023/candidate"],
      ["put-parameter", "al2023", "ap-southeast-2", "/leaven/al2023/release"],
      ["put-parameter", "ubuntu-jammy", "us-east-1", "/leaven/ubuntu-jammy/candidate"],
      ["put-parameter", "ubuntu-jammy", "us-east-1", "/leaven/ubuntu-jammy/release"],
      ["put-parameter", "ubuntu-jammy", "eu-west-1", "/leaven/ubuntu-jammy/candidate"],
      ["put-parameter", "ubuntu-jammy", "eu-west-1", "/leaven/ubuntu-jammy/release"],
    ]);
    expect(plan.actions[2]).toMatchObject({
      channel: "candidate",
      parameter: {
        dataType: "aws:ec2:image",
        overwrite: false,
        tags: {
          "leaven.dev/managed-by": "leaven",
          "leaven.dev/installation": "default",
          "leaven.dev/spec": "al2023",
          "leaven.dev/channel": "candidate",
        },
      },
    });
    expect(plan.actions[0]).toMatchObject({ launch: { userData: expect.stringMatching(/^\(\d+ bytes\)$/) } });
  });

  it("rejects an unknown output format with the exact message", async () => {
    const dir = scratchEstate();
    const run = await runCli(["plan", "specs", "--output", "yaml"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('leaven plan: --output must be text or json, not "yaml".\n');
  });
});

describe("leaven plan's exit status and headline", () => {
  // Two simulator states, made once: the examples after an apply whose ledger bake failed (the rest
  // converged), and after the retry that converged everything.
  let failedState: string;
  let convergedState: string;
  beforeAll(async () => {
    const dir = scratchEstate();
    const sim = ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
    const failed = await runCli(["apply", "specs", ...sim, "--fault", "bake-fail=ledger"], dir);
    if (failed.code !== 1)
      throw new Error(`apply with a failing bake exited ${failed.code}:\n${failed.stdout}`);
    failedState = join(dir, "failed.json");
    copyFileSync(join(dir, "sim.json"), failedState);
    const retried = await runCli(["apply", "specs", ...sim, "--retry", "ledger"], dir);
    if (retried.code !== 0)
      throw new Error(`apply --retry ledger exited ${retried.code}:\n${retried.stdout}`);
    convergedState = join(dir, "converged.json");
    copyFileSync(join(dir, "sim.json"), convergedState);
  }, 120_000);

  /** A scratch copy of the examples on a copy of `state`, and the flags that use it. */
  function estateOn(state: string): { dir: string; sim: string[] } {
    const dir = scratchEstate();
    copyFileSync(state, join(dir, "sim.json"));
    return { dir, sim: ["--sim-state", join(dir, "sim.json")] };
  }

  it('says "No changes." and exits 0 only once everything is Ready and nothing is to be done', async () => {
    const { dir, sim } = estateOn(convergedState);
    // The bakery host of the examples' volume bakes has been idle past bakery.idleStop (30m) since they
    // baked: stopping it is a change, which `plan` shows and `apply` makes. Then nothing is left to do.
    const idle = await runCli(["plan", "specs", "--detailed-exitcode", ...sim], dir);
    expect(idle.code, idle.stdout).toBe(2);
    expect(idle.stdout).toMatch(/^ {2}~ stop {9}us-east-1 {6}i-[0-9a-f]{17} \(idle bakery host\)$/m);
    expect(idle.stdout).toContain("Plan: 1 idle bakery host to stop; on the embedded simulator — not AWS.");
    expect((await runCli(["apply", "specs", ...sim], dir)).code).toBe(0);
    const run = await runCli(["plan", "specs", "--detailed-exitcode", ...sim], dir);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toBe("No changes. The images match the specs; on the embedded simulator — not AWS.\n");

    const json = await runCli(["plan", "specs", "--output", "json", "--detailed-exitcode", ...sim], dir);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { verdict: unknown }).verdict).toEqual({
      state: "converged",
      exitCode: 0,
      headline: "No changes. The images match the specs.",
      problems: [],
    });
  });

  it("takes a region out of every spec: plans its clean-up there, says it still looks there, and only then No changes", async () => {
    const { dir, sim } = estateOn(convergedState);
    for (const file of ["foundations.yaml", "bases/al2023-base.yaml", "apps/payments.yaml"])
      edit(dir, file, (text) =>
        text.replace(", ap-southeast-2]", "]").replace(/^ +ap-southeast-2: arn:.*\n/m, ""),
      );
    const run = await runCli(["plan", "specs", "--detailed-exitcode", ...sim], dir);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toMatch(
      /^ {2}- unpublish {4}ap-southeast-2 \/leaven\/payments\/release \(ami-[0-9a-f]{17}\)\n {6}because payments is no longer in ap-southeast-2$/m,
    );
    expect(run.stdout).toMatch(
      /^ {2}~ untag {8}ap-southeast-2 ami-[0-9a-f]{17} \(1\.8\.1\+[0-9a-f]{8}\) -leaven\.dev\/channel\/candidate/m,
    );
    expect(run.stdout).toContain(
      "Also observed, though no spec names it (Leaven's resources are left there): ap-southeast-2\n",
    );
    expect((await runCli(["apply", "specs", ...sim], dir)).code).toBe(0);
    // The copies there retire on their specs' schedules (weeks): until then the region is still looked at.
    const after = await runCli(["plan", "specs", "--output", "json", "--detailed-exitcode", ...sim], dir);
    expect(after.code, after.stdout).toBe(0);
    const json = JSON.parse(after.stdout) as { verdict: { headline: string }; strayRegions?: string[] };
    expect(json.verdict.headline).toBe("No changes. The images match the specs.");
    expect(json.strayRegions).toEqual(["ap-southeast-2"]);
  });

  it("exits 1 and names the spec whose bake failed, with or without --detailed-exitcode", async () => {
    const { dir, sim } = estateOn(failedState);
    const detailed = await runCli(["plan", "specs", "--detailed-exitcode", ...sim], dir);
    expect(detailed.code).toBe(1);
    expect(detailed.stdout).not.toContain("No changes");
    expect(detailed.stdout).toMatch(
      /^ {2}ledger {15}Failed {4}build 2\.0\.3\+[0-9a-f]{8} failed: bake script failed: /m,
    );
    expect(lastLine(detailed.stdout)).toBe("1 spec failed: ledger; on the embedded simulator — not AWS.");

    const plain = await runCli(["plan", "specs", ...sim], dir);
    expect(plain.code).toBe(1);
    expect(lastLine(plain.stdout)).toBe("1 spec failed: ledger; on the embedded simulator — not AWS.");
  });

  it("exits 1 and names the spec stalled when a channel's build: names a build that does not exist", async () => {
    const { dir, sim } = estateOn(convergedState);
    edit(dir, "apps/payments.yaml", (text) =>
      text.replace(/release: \{.*\}/, 'release: { build: "5.1.0+00000000" }'),
    );
    const run = await runCli(["plan", "specs", "--detailed-exitcode", ...sim], dir);
    expect(run.stdout).toMatch(/^ {2}payments {13}Stalled {3}.*build 5\.1\.0\+00000000 does not exist/m);
    expect(lastLine(run.stdout)).toBe("1 spec stalled: payments; on the embedded simulator — not AWS.");
    expect(run.code).toBe(1);
  });

  it("exits 1 and names the spec blocked when its recipe is over EC2's user-data limit", async () => {
    const { dir, sim } = estateOn(convergedState);
    // Over EC2's 16 KB user-data limit once rendered.
    edit(dir, "apps/ledger.yaml", (text) =>
      text.replace("systemctl enable ledger", `systemctl enable ledger\n      # ${"x".repeat(17_000)}`),
    );
    const run = await runCli(["plan", "specs", "--detailed-exitcode", ...sim], dir);
    expect(run.code).toBe(1);
    // validate catches it at the field, so plan never gets to render it.
    expect(run.stderr).toContain(
      "specs/apps/ledger.yaml:13:13 spec.provision.script: this field alone is 17027 bytes, over EC2's 16384-byte user-data limit for the whole rendered bake script; ship large files in a package, or fetch them from the provision script\n",
    );
    expect(run.stdout).toMatch(
      /^ {2}ledger {15}Blocked {3}invalid: spec\.provision\.script: this field alone/m,
    );
    expect(lastLine(run.stdout)).toBe(
      "1 spec blocked by invalid input: ledger; on the embedded simulator — not AWS.",
    );
  });

  it("exits 1 on invalid input even when there are changes to plan", async () => {
    const dir = scratchEstate();
    edit(dir, "apps/ledger.yaml", (text) => text.replace("version: 2.0.3", "version: two"));
    const run = await runCli(
      ["plan", "specs", "--detailed-exitcode", "--sim-state", join(dir, "sim.json")],
      dir,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("Plan: 2 to bake, 10 to publish.\n");
    expect(lastLine(run.stdout)).toBe(
      "1 spec blocked by invalid input: ledger; on the embedded simulator — not AWS.",
    );
  });

  it("plans the retry of a failed bake with --retry", async () => {
    const { dir, sim } = estateOn(failedState);
    const run = await runCli(["plan", "specs", "--detailed-exitcode", "--retry", "ledger", ...sim], dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^ {2}\+ bake {9}us-east-1 {6}2\.0\.3\+[0-9a-f]{8} on /m);
    // The failed bake's record goes with the retry.
    expect(run.stdout).toMatch(
      /^ {2}- forget {7}us-east-1 {6}failure record lt-[0-9a-f]{17} \(2\.0\.3\+[0-9a-f]{8}\)$/m,
    );
    expect(lastLine(run.stdout)).toBe("Plan: 1 to bake, 1 to forget; on the embedded simulator — not AWS.");
  });

  it("refuses --retry of a spec that does not exist, with the nearest name", async () => {
    const { dir, sim } = estateOn(failedState);
    const run = await runCli(["plan", "specs", "--retry", "ledgr", ...sim], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      'leaven plan: --retry ledgr: there is no spec named "ledgr"; did you mean "ledger"?\n',
    );

    const far = await runCli(["plan", "specs", "--retry", "nothing-like-it", ...sim], dir);
    expect(far.code).toBe(1);
    expect(far.stderr).toBe(
      'leaven plan: --retry nothing-like-it: there is no spec named "nothing-like-it"; `leaven graph` lists the specs\n',
    );
  });

  it("refuses --retry of a spec with no failed build, and says its phase", async () => {
    const { dir, sim } = estateOn(failedState);
    const run = await runCli(["plan", "specs", "--retry", "payments", "--retry", "ledger", ...sim], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(lastLine(run.stderr)).toBe(
      "leaven plan: --retry payments: payments has no failed build to retry (its phase is Ready); --retry re-arms a spec whose phase is Failed",
    );
  });
});
