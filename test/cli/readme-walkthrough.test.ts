// Runs the README's promotion walkthrough, command by command as written, on a scratch clone of the
// examples against the simulator, and checks what its comments claim — so the README cannot go stale.
import { execSync } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../controller/cli/commands/index.ts";
import { matrixBuild } from "../support/channel-matrix.ts";
import { repoRoot } from "../support/cli-process.ts";
import { run } from "../support/in-process-cli.ts";
import { tempDir } from "../support/temp-dir.ts";

/** The commands of the first sh block of the README's "## Promotion" section, without their comments. */
function walkthrough(): string[] {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Promotion\n"));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error("README.md has no sh block under ## Promotion");
  return block[1]!
    .split("\n")
    .map((line) => line.replace(/\s+#\s.*$/, "").trim())
    .filter((line) => line !== "");
}

/** `npm start` as package.json defines it, as leaven arguments. */
function npmStart(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    scripts: { start: string };
  };
  const [node, main, ...args] = pkg.scripts.start.split(/\s+/);
  expect([node, main]).toEqual(["node", "controller/cli/leaven.mjs"]);
  return args;
}

/** The simulator at 600× instead of 60×: the same simulated time, a tenth of the wait. */
function faster(args: string[]): string[] {
  const command = commands.find((c) => c.name === args[0]);
  return command && "sim-speed" in command.options ? [...args, "--sim-speed", "600"] : args;
}

interface Step {
  line: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one walkthrough line in `dir`: npm start and `npx .` are the leaven CLI; anything else is sh. */
async function step(line: string, dir: string): Promise<Step> {
  if (line === "npm start") return { line, ...(await run(faster(npmStart()), dir)) };
  if (line.startsWith("npx . ")) return { line, ...(await run(faster(line.slice(6).split(/\s+/)), dir)) };
  try {
    const stdout = execSync(line, { cwd: dir, encoding: "utf8", shell: "/bin/sh", stdio: "pipe" });
    return { line, code: 0, stdout, stderr: "" };
  } catch (error) {
    const failed = error as { status: number; stdout: string; stderr: string };
    return { line, code: failed.status, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const channelBuild = matrixBuild;

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

describe("the README's promotion walkthrough", () => {
  it("runs as written on a fresh clone and does what its comments say", async () => {
    // A fresh clone: the examples, committed, and no simulated world yet.
    const dir = tempDir("leaven-readme-");
    cpSync(join(repoRoot, "examples"), join(dir, "examples"), {
      recursive: true,
      filter: (source) => !source.includes(".leaven"),
    });
    const git = (command: string) =>
      execSync(`git -c user.name=Leaven -c user.email=test@leaven.invalid ${command}`, {
        cwd: dir,
        stdio: "pipe",
      });
    git("init -q");
    git("add .");
    git("commit -q -m clone");

    const lines = walkthrough();
    const steps: Step[] = [];
    for (const line of lines) {
      const done = await step(line, dir);
      expect(done.code, `${line}\n${done.stdout}\n${done.stderr}`).toBe(0);
      steps.push(done);
    }
    const starts = steps.filter((s) => s.line === "npm start");
    const promotes = steps.filter((s) => s.line.startsWith("npx . promote ubuntu-base --channel release"));
    expect(starts).toHaveLength(3);
    expect(promotes).toHaveLength(3);
    const [converge, candidate, promoted] = starts as [Step, Step, Step];
    const [pin, dryRun, write] = promotes as [Step, Step, Step];

    // converge: ubuntu-base has one build, in candidate and release.
    const first = channelBuild(converge.stdout, "ubuntu-base", "release")!;
    expect(first).toMatch(/^2\.3\.0\+[0-9a-f]{8}$/);
    expect(channelBuild(converge.stdout, "ubuntu-base", "candidate")).toBe(first);
    // pin release to that build.
    expect(pin.stdout).toContain(`Pin ubuntu-base/release to ${first}, the build it is on now.`);
    expect(pin.stdout).toContain(`+    release: { build: "${first}", parentIn: release }`);
    // bakes 2.4.0+… into candidate (api-server rebakes on it); release stays on 2.3.0+….
    const next = channelBuild(candidate.stdout, "ubuntu-base", "candidate")!;
    expect(next).toMatch(/^2\.4\.0\+[0-9a-f]{8}$/);
    expect(channelBuild(candidate.stdout, "ubuntu-base", "release")).toBe(first);
    expect(channelBuild(candidate.stdout, "api-server", "candidate")).not.toBe(
      channelBuild(converge.stdout, "api-server", "candidate"),
    );
    // its two builds, newest first: 2.4.0+… in candidate, 2.3.0+… in release.
    const builds = steps.find((s) => s.line.startsWith("npx . builds ubuntu-base"))!;
    const rows = builds.stdout.split("\n").filter((line) => line.startsWith(next) || line.startsWith(first));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^${next.replace("+", "\\+")} .* candidate `));
    expect(rows[1]).toMatch(new RegExp(`^${first.replace("+", "\\+")} .* release `));
    // the diff, and the plan: web-frontend and order-worker rebake.
    expect(dryRun.line).toContain("--dry-run");
    expect(dryRun.stdout).toContain(`+    release: { build: "${next}", parentIn: release }`);
    expect(bakedSpecs(dryRun.stdout)).toEqual(["order-worker", "web-frontend"]);
    // write it.
    expect(write.stdout).toContain("Wrote examples/bases/ubuntu-base.yaml");
    // git diff: two lines, the version bump and the release pin.
    const diff = steps.find((s) => s.line.startsWith("git diff"))!;
    expect(diff.stdout.split("\n").filter((l) => /^[-+] /.test(l))).toEqual([
      "-  version: 2.3.0",
      "+  version: 2.4.0",
      "-    release: { latest: true, parentIn: release }",
      `+    release: { build: "${next}", parentIn: release }`,
    ]);
    // web-frontend and order-worker rebake on the new release.
    expect(channelBuild(promoted.stdout, "ubuntu-base", "release")).toBe(next);
    for (const child of ["web-frontend", "order-worker"])
      expect(channelBuild(promoted.stdout, child, "release"), child).not.toBe(
        channelBuild(candidate.stdout, child, "release"),
      );
    expect(promoted.stdout).toContain('"kind":"launch-bake","spec":"web-frontend"');
    // order-worker bakes on a volume (bake.method: volume): its bake starts with the volume.
    expect(promoted.stdout).toContain('"kind":"create-volume","spec":"order-worker"');

    // Rolling back, with the command the promotion printed: channels move back without a bake.
    const printed = /^To roll back: leaven (.+)$/m.exec(write.stdout)![1]!;
    expect(printed).toBe(`promote ubuntu-base --channel release --to ${first} examples`);
    const back = await step(`npx . ${printed}`, dir);
    expect(back.code, back.stderr).toBe(0);
    const rolledBack = await step("npm start", dir);
    expect(rolledBack.code, rolledBack.stdout).toBe(0);
    expect(channelBuild(rolledBack.stdout, "ubuntu-base", "release")).toBe(first);
    for (const child of ["web-frontend", "order-worker"])
      expect(channelBuild(rolledBack.stdout, child, "release"), child).toBe(
        channelBuild(candidate.stdout, child, "release"),
      );
    expect(rolledBack.stdout).not.toContain('"kind":"launch-bake"');
    expect(rolledBack.stdout).not.toContain('"kind":"create-volume"');
  }, 180_000);
});
