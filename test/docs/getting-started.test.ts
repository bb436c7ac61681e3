// docs/getting-started.md as a new user follows it: on a fresh clone, every yaml block that starts with a
// `# path` comment is written to that path and every sh line is run with sh, in the document's order, up to
// "## On AWS"; each must exit 0 and say what the comments beside it say. The AWS part cannot run here: its
// shell is syntax-checked, its leaven flags must exist, its leaven.yaml must load and the files it names must
// exist. Deviations, as in the README test: node_modules is linked instead of `npm ci`, and the simulator
// runs at 600× (`--sim-speed 600` appended to the commands that take it).

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLeavenConfig } from "../../controller/cli/cloud-target.ts";
import { commands } from "../../controller/cli/commands/index.ts";
import { matrixBuild, matrixCell } from "../support/channel-matrix.ts";
import { repoRoot } from "../support/cli-process.ts";
import { commandLines, freshClone, type ShellRun, sh } from "../support/fresh-clone.ts";
import { tempDir } from "../support/temp-dir.ts";

const doc = readFileSync(join(repoRoot, "docs/getting-started.md"), "utf8");
const awsAt = doc.indexOf("\n## On AWS\n");

interface Block {
  lang: string;
  text: string;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

/** A yaml block's target file: its first line, `# path`. */
const fileOf = (block: Block): string | undefined => /^# (\S+\.ya?ml)\n/.exec(block.text)?.[1];

function faster(line: string): string {
  const name = /^npx \. (\S+)/.exec(line)?.[1];
  const command = commands.find((c) => c.name === name);
  return command && "sim-speed" in command.options ? `${line} --sim-speed 600` : line;
}

describe("docs/getting-started.md", () => {
  it("has a simulator part and an AWS part", () => {
    expect(awsAt).toBeGreaterThan(0);
    expect(blocks(doc.slice(0, awsAt)).filter(fileOf)).toHaveLength(3);
  });

  it("runs as written on a fresh clone, against the simulator", async () => {
    const dir = freshClone();
    const runs: ShellRun[] = [];
    for (const block of blocks(doc.slice(0, awsAt))) {
      if (block.lang === "yaml") {
        const file = fileOf(block);
        expect(file, `a yaml block without a "# path" line:\n${block.text}`).toBeDefined();
        mkdirSync(dirname(join(dir, file!)), { recursive: true });
        writeFileSync(join(dir, file!), block.text);
        continue;
      }
      expect(block.lang).toBe("sh");
      for (const raw of block.text.split("\n")) {
        const [line] = commandLines(raw);
        if (line === undefined || line === "npm ci") continue; // node_modules is linked
        // A line whose comment says "exits N" must exit N; every other line 0.
        const expected = Number(/#\s+exits (\d+)/.exec(raw)?.[1] ?? 0);
        const run = await sh(faster(line), dir);
        expect(run.code, `${line}\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`).toBe(expected);
        runs.push(run);
      }
    }
    const nth = (prefix: string, n = 0): ShellRun => {
      const found = runs.filter((r) => r.line.startsWith(prefix))[n];
      if (!found) throw new Error(`the walkthrough no longer runs "${prefix}" (${n + 1} times)`);
      return found;
    };
    expect(nth("npx . validate my-images").stdout).toBe("ok: 3 specs valid (3 files, 3 documents)\n");
    const graph = nth("npx . graph my-images").stdout;
    expect(graph).toContain("ubuntu-noble (foundation)");
    expect(graph).toContain("└── my-base (base 1.0.0, on release)");
    expect(graph).toContain("    └── my-app (app 0.1.0, on release)");
    const plan = nth("npx . plan my-images").stdout;
    expect(plan).toMatch(/^ {2}\+ bake +us-east-1 +1\.0\.0\+[0-9a-f]{8} on ami-/m);
    expect(plan).toMatch(/^ {2}my-app +Waiting +waiting for my-base\/release/m);
    expect(plan.trimEnd().split("\n").at(-1)).toBe(
      "Plan: 1 to bake, 4 to publish; on the embedded simulator — not AWS.",
    );
    const apply = nth("npx . apply my-images").stdout;
    expect(matrixCell(apply, "my-app", "release")).toEqual({
      build: expect.stringMatching(/^0\.1\.0\+[0-9a-f]{8}$/),
      ready: 2,
      total: 2,
    });
    expect(apply.trimEnd().split("\n").at(-1)).toBe(
      "The images match the specs; on the embedded simulator — not AWS.",
    );
    const status = nth("npx . status my-images").stdout;
    expect(status).toMatch(/^my-app +Ready +2\/2 +candidate,release 0\.1\.0\+[0-9a-f]{8}$/m);
    expect(nth("npx . builds my-app my-images").stdout).toMatch(
      /^ {4}my-app 0\.1\.0\+[0-9a-f]{8} ← my-base 1\.0\.0\+[0-9a-f]{8}\n {6}← ubuntu-noble ubuntu\/images\//m,
    );
    // The recipe change: the base rebakes now, the app after it; release moves; the old build is kept.
    const replan = nth("npx . plan my-images", 1).stdout;
    expect(replan).toMatch(/^ {2}\+ bake +us-east-1 +1\.1\.0\+[0-9a-f]{8} on ami-/m);
    expect(replan.trimEnd().split("\n").at(-1)).toBe("Plan: 1 to bake; on the embedded simulator — not AWS.");
    const reapply = nth("npx . apply my-images", 1).stdout;
    expect(matrixBuild(reapply, "my-base", "release")).toMatch(/^1\.1\.0\+[0-9a-f]{8}$/);
    const appRelease = (out: string) => matrixBuild(out, "my-app", "release");
    expect(appRelease(reapply)).toMatch(/^0\.1\.0\+[0-9a-f]{8}$/);
    expect(appRelease(reapply)).not.toBe(appRelease(apply));
    const builds = nth("npx . builds my-base my-images").stdout;
    expect(builds).toMatch(/^1\.1\.0\+[0-9a-f]{8} .* candidate, release /m);
    expect(builds).toMatch(/^1\.0\.0\+[0-9a-f]{8} .* available {2}- /m);
    // The failing bake: apply says so and exits 1, builds shows why, --retry bakes it.
    const failed = nth("npx . apply my-images --fault bake-fail=my-app").stdout;
    expect(failed.trimEnd().split("\n").at(-1)).toBe(
      "1 spec failed: my-app; on the embedded simulator — not AWS.",
    );
    expect(appRelease(failed)).toBe(appRelease(reapply));
    const history = nth("npx . builds my-app my-images", 1).stdout;
    expect(history).toMatch(/^0\.2\.0\+[0-9a-f]{8} .* failed /m);
    expect(history).toContain(
      "    failed: bake script failed: provision script exited with status 1\n    last console lines:\n",
    );
    const retried = nth("npx . apply my-images --retry my-app").stdout;
    expect(matrixBuild(retried, "my-app", "candidate")).toMatch(/^0\.2\.0\+[0-9a-f]{8}$/);
    expect(retried.trimEnd().split("\n").at(-1)).toBe(
      "The images match the specs; on the embedded simulator — not AWS.",
    );
  }, 120_000);

  it("writes the AWS part with flags leaven has, a leaven.yaml it loads and files that exist", () => {
    const aws = blocks(doc.slice(awsAt));
    const shells = aws.filter((b) => b.lang === "sh");
    expect(shells.length).toBeGreaterThan(3);
    for (const block of shells) {
      execFileSync("bash", ["-n"], { input: block.text });
      const text = block.text.replace(/\\\n\s*/g, " ");
      for (const line of commandLines(text)) {
        for (const path of line.matchAll(/file:\/\/(\S+)/g))
          expect(existsSync(join(repoRoot, path[1]!)), path[1]).toBe(true);
        const leaven = /^npx \. (\S+)(.*)$/.exec(line);
        if (!leaven) {
          expect(line, "only leaven and aws commands").toMatch(/^aws /);
          continue;
        }
        const command = commands.find((c) => c.name === leaven[1]);
        expect(command, line).toBeDefined();
        for (const flag of leaven[2]!.matchAll(/--([a-z-]+)/g))
          expect(Object.keys(command!.options), `${line}: --${flag[1]}`).toContain(flag[1]);
      }
    }
    const config = aws.find((b) => b.lang === "yaml" && fileOf(b) === "my-images/leaven.yaml");
    expect(config).toBeDefined();
    const specs = join(tempDir("leaven-doc-config-"), "my-images");
    mkdirSync(specs);
    writeFileSync(join(specs, "leaven.yaml"), config!.text);
    expect(readLeavenConfig(specs).config).toMatchObject({
      cloud: "aws",
      profile: "images-admin",
      lock: { table: "leaven-locks" },
    });
  });
});
