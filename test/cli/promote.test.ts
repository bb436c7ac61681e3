// `leaven promote` against the simulator: the edit is a one-line git diff, the plan it prints rebakes
// exactly the children of the promoted channel, refusals change nothing, rollback is promote again.
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import { matrixBuild } from "../support/channel-matrix.ts";
import { repoRoot } from "../support/cli-process.ts";
import { run } from "../support/in-process-cli.ts";
import { tempDir } from "../support/temp-dir.ts";

const BASE = "specs/bases/ubuntu-base.yaml";
const sim = ["--sim-state", "sim.json", "--sim-speed", "600"];

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    "git",
    ["-c", "user.name=Leaven Test", "-c", "user.email=test@leaven.invalid", ...args],
    {
      cwd: dir,
      encoding: "utf8",
    },
  );
}

/** The build a channel of a spec is on, from apply's channel table. */
const channelBuild = matrixBuild;

/** Specs the rendered plan bakes (`+ bake` lines under `# spec` headers). */
function bakedSpecs(plan: string): string[] {
  const baked = new Set<string>();
  let spec = "";
  for (const line of plan.split("\n")) {
    const header = /^ {2}# (\S+)$/.exec(line);
    if (header) spec = header[1]!;
    else if (/^ {2}\+ bake /.test(line)) baked.add(spec);
  }
  return [...baked].sort();
}

/** Only the lines from the first `leaven promote:` on: the banner before it names a random port. */
function refusal(stderr: string): string {
  return stderr.slice(stderr.indexOf("leaven promote:"));
}

/**
 * A converged example estate in a git repository where ubuntu-base has two builds: `old` in release
 * (pinned by a first promote) and `next` (version 2.4.0) in candidate. Copied for each test.
 */
let template: string;
let old: string;
let next: string;
/** web-frontend's release build, baked on `old`. */
let webOnOld: string;

beforeAll(async () => {
  template = tempDir("leaven-promote-template-");
  cpSync(join(repoRoot, "examples"), join(template, "specs"), {
    recursive: true,
    filter: (source) => !source.includes(".leaven"),
  });
  const first = await run(["apply", "specs", ...sim], template);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  old = channelBuild(first.stdout, "ubuntu-base", "release")!;
  // Pin release where it is, so that a new build reaches candidate only.
  const pin = await run(
    ["promote", "ubuntu-base", "--channel", "release", "--to", "candidate", "specs", ...sim],
    template,
  );
  expect(pin.code, pin.stderr).toBe(0);
  expect(pin.stdout).toContain(`Pin ubuntu-base/release to ${old}, the build it is on now.`);
  const base = join(template, BASE);
  writeFileSync(base, readFileSync(base, "utf8").replace("version: 2.3.0", "version: 2.4.0"));
  const second = await run(["apply", "specs", ...sim], template);
  expect(second.code, second.stdout + second.stderr).toBe(0);
  next = channelBuild(second.stdout, "ubuntu-base", "candidate")!;
  expect(next).toMatch(/^2\.4\.0\+[0-9a-f]{8}$/);
  expect(channelBuild(second.stdout, "ubuntu-base", "release")).toBe(old);
  webOnOld = channelBuild(second.stdout, "web-frontend", "release")!;
  git(template, "init", "-q");
  git(template, "add", ".");
  git(template, "commit", "-q", "-m", "two builds of ubuntu-base");
}, 120_000);

function estate(): string {
  const dir = tempDir("leaven-promote-");
  cpSync(template, dir, { recursive: true });
  return dir;
}

describe("leaven promote on the simulator", () => {
  it("edits one line of a commented file, prints that diff, and plans rebakes of exactly base/release's children", async () => {
    const dir = estate();
    const result = await run(
      ["promote", "ubuntu-base", "--channel", "release", "--to", "candidate", "specs", ...sim],
      dir,
    );
    expect(result.code, result.stderr).toBe(0);

    // git sees exactly one changed line in the file, comments and all else untouched.
    expect(git(dir, "diff", "--numstat", "--", "specs")).toBe(`1\t1\t${BASE}\n`);
    const diff = git(dir, "diff", "-U0", "--no-color", BASE)
      .split("\n")
      .filter((line) => /^[-+] /.test(line));
    expect(diff).toEqual([
      `-    release: { build: "${old}", parentIn: release }`,
      `+    release: { build: "${next}", parentIn: release }`,
    ]);
    // What promote printed is what git diff prints (without git's own header lines).
    const gitDiff = git(dir, "diff", "--no-color", BASE);
    expect(result.stdout).toContain(gitDiff.slice(gitDiff.indexOf("--- a/")));
    expect(result.stdout.split("\n")[0]).toBe(
      `Promote ubuntu-base/release from ${old} to ${next}, the build candidate is on.`,
    );
    expect(result.stdout).toContain(`Wrote ${BASE}; review and commit it. Then apply does:`);

    // The downstream plan: a bake for every child on ubuntu-base/release, and for nothing else.
    const specs = await loadSpecs(["specs"], { cwd: dir });
    const children = specs.specs
      .filter(
        (s) => s.document.spec.parent?.spec === "ubuntu-base" && s.document.spec.parent.channel === "release",
      )
      .map((s) => s.name)
      .sort();
    expect(children).toEqual(["order-worker", "web-frontend"]);
    expect(bakedSpecs(result.stdout)).toEqual(children);
    expect(result.stdout).toContain(
      `To roll back: leaven promote ubuntu-base --channel release --to ${old} specs`,
    );
  });

  it("--dry-run prints the same diff and plan and writes nothing", async () => {
    const dir = estate();
    const before = readFileSync(join(dir, BASE), "utf8");
    const dry = await run(
      ["promote", "ubuntu-base", "--channel", "release", "--to", next, "specs", "--dry-run", ...sim],
      dir,
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(readFileSync(join(dir, BASE), "utf8")).toBe(before);
    expect(git(dir, "status", "--porcelain", "--", "specs")).toBe("");
    expect(dry.stdout).toContain(`+    release: { build: "${next}", parentIn: release }`);
    expect(dry.stdout).toContain(`Dry run: ${BASE} was not changed. With this edit, apply would do:`);
    expect(bakedSpecs(dry.stdout)).toEqual(["order-worker", "web-frontend"]);
  });

  it("refuses a build that does not exist, listing the real ones, and changes nothing", async () => {
    const dir = estate();
    const before = readFileSync(join(dir, BASE), "utf8");
    const typo = `${next.slice(0, -1)}${next.endsWith("0") ? "1" : "0"}`;
    const result = await run(
      ["promote", "ubuntu-base", "--channel", "release", "--to", typo, "specs", ...sim],
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(refusal(result.stderr)).toBe(
      [
        `leaven promote: ubuntu-base has no build ${typo}; did you mean "${next}"? Nothing was changed.`,
        "Builds of ubuntu-base, newest first:",
        `  ${next}  ready  candidate`,
        `  ${old}  ready  release`,
        "--to takes one of these builds, or one of: latest, candidate, release.",
        "",
      ].join("\n"),
    );
    expect(readFileSync(join(dir, BASE), "utf8")).toBe(before);
  });

  it("says already, and changes nothing, when the channel pins that build", async () => {
    const dir = estate();
    const result = await run(
      ["promote", "ubuntu-base", "--channel", "release", "--to", old, "specs", ...sim],
      dir,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`ubuntu-base/release already pins ${old}; nothing to change.\n`);
    expect(git(dir, "status", "--porcelain", "--", "specs")).toBe("");
  });

  it.each([
    [
      "an unknown spec",
      ["ubuntu-bsae", "--channel", "release", "--to", "candidate"],
      'no spec named ubuntu-bsae in specs; did you mean "ubuntu-base"? Specs: al2023, al2023-base, api-server, ledger, order-worker, payments, ubuntu-base, ubuntu-jammy, web-frontend.',
    ],
    [
      "an unknown --to channel",
      ["ubuntu-base", "--channel", "release", "--to", "candiate"],
      'ubuntu-base has no channel candiate to promote from; did you mean "candidate"? --to takes a build id (VERSION+HASH, e.g. 2.3.0+5f2c91ab), latest, or a channel of ubuntu-base: candidate, release. Nothing was changed.',
    ],
    [
      "a --channel one letter off an existing one",
      ["ubuntu-base", "--channel", "relase", "--to", "candidate"],
      'ubuntu-base has no channel relase; did you mean "release"? Its channels: candidate, release. Nothing was changed.',
    ],
    [
      "a foundation",
      ["ubuntu-jammy", "--channel", "release", "--to", "latest"],
      "ubuntu-jammy is a foundation: its channels select vendor images (latest or image), not builds; edit its selector by hand.",
    ],
  ])("refuses %s with the exact message", async (_what, args, message) => {
    const dir = estate();
    const result = await run(["promote", ...args, "specs", ...sim], dir);
    expect(result).toEqual({ code: 1, stdout: "", stderr: `leaven promote: ${message}\n` });
    expect(git(dir, "status", "--porcelain", "--", "specs")).toBe("");
  });

  it("--to latest goes back to { latest: true }, keeping parentIn", async () => {
    const dir = estate();
    const result = await run(
      ["promote", "ubuntu-base", "--channel", "release", "--to", "latest", "specs", ...sim],
      dir,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(
      `Set ubuntu-base/release to the latest ready build (now ${next}; was ${old}).`,
    );
    expect(
      git(dir, "diff", "-U0", "--no-color", BASE)
        .split("\n")
        .filter((l) => /^[-+] /.test(l)),
    ).toEqual([
      `-    release: { build: "${old}", parentIn: release }`,
      "+    release: { latest: true, parentIn: release }",
    ]);
    expect(bakedSpecs(result.stdout)).toEqual(["order-worker", "web-frontend"]);
  });

  it("adds a channel the spec does not have yet", async () => {
    const dir = estate();
    const result = await run(
      ["promote", "ubuntu-base", "--channel", "staging", "--to", "candidate", "specs", ...sim],
      dir,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(
      `Add channel ubuntu-base/staging on ${next}, the build candidate is on.`,
    );
    expect(git(dir, "diff", "--numstat", "--", "specs")).toBe(`1\t0\t${BASE}\n`);
    expect(readFileSync(join(dir, BASE), "utf8")).toContain(
      `    release: { build: "${old}", parentIn: release }\n    staging: { build: "${next}" }\n  retention:\n`,
    );
  });

  it("has help in the style of the other commands", async () => {
    const help = await run(["promote", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.split("\n")[0]).toBe(
      "Usage: leaven promote SPEC --channel CHANNEL --to BUILD|latest|CHANNEL [paths…] [--dry-run] [cloud options]",
    );
    expect(help.stdout).toContain(
      "  --to CHANNEL           Pin the build another channel of the same spec is on now",
    );
    expect(help.stdout).toContain("  --sim-state FILE");
    const missing = await run(["promote", "ubuntu-base"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "leaven promote: name the spec, the channel and the build, e.g. `leaven promote ubuntu-base --channel release --to candidate examples`; see --help.\n",
    );
  });

  it("rolls back by promoting the previous build: children return to their old builds without baking", async () => {
    const dir = estate();
    const forward = await run(
      ["promote", "ubuntu-base", "--channel", "release", "--to", "candidate", "specs", ...sim],
      dir,
    );
    expect(forward.code, forward.stderr).toBe(0);
    const promoted = await run(["apply", "specs", ...sim], dir);
    expect(promoted.code, promoted.stdout).toBe(0);
    expect(channelBuild(promoted.stdout, "ubuntu-base", "release")).toBe(next);
    const webOnNext = channelBuild(promoted.stdout, "web-frontend", "release");
    expect(webOnNext).not.toBe(webOnOld);
    git(dir, "commit", "-q", "-am", "promote");

    // The command promote printed for the rollback, run as printed.
    const rollback = /^To roll back: leaven (.+)$/m.exec(forward.stdout)![1]!.split(" ");
    expect(rollback).toEqual(["promote", "ubuntu-base", "--channel", "release", "--to", old, "specs"]);
    const back = await run([...rollback, ...sim], dir);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.split("\n")[0]).toBe(`Promote ubuntu-base/release from ${next} to ${old}.`);
    expect(git(dir, "diff", "--numstat", "--", "specs")).toBe(`1\t1\t${BASE}\n`);
    expect(bakedSpecs(back.stdout)).toEqual([]);

    const rolledBack = await run(["apply", "specs", ...sim], dir);
    expect(rolledBack.code, rolledBack.stdout).toBe(0);
    expect(channelBuild(rolledBack.stdout, "ubuntu-base", "release")).toBe(old);
    expect(channelBuild(rolledBack.stdout, "ubuntu-base", "candidate")).toBe(next);
    // web-frontend's release is back on the build baked on the old base, which still existed: no bake.
    expect(channelBuild(rolledBack.stdout, "web-frontend", "release")).toBe(webOnOld);
    expect(rolledBack.stdout).not.toContain('"kind":"launch-bake"');
  });
});
