// npm run mutate:known — the deliberate bugs that once survived the whole suite (issue 13), re-applied
// one at a time in a scratch git worktree of HEAD, each followed by the tests that must catch it. Prints
// a table and exits 1 if any mutant survives. The working tree is never touched.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

interface KnownMutant {
  name: string;
  file: string;
  from: string;
  to: string;
  tests: string[];
}

const MUTANTS: KnownMutant[] = [
  {
    name: "ownership accepts any owner value",
    file: "controller/api/tags.ts",
    from: "  if (owner !== MANAGED_BY_VALUE)",
    to: "  if (false)",
    tests: ["test/api/tags.test.ts", "test/plan/ownership.test.ts", "test/execute/ownership-guard.test.ts"],
  },
  {
    name: "isLeavenOwned returns true always",
    file: "controller/api/tags.ts",
    from: "  return ownershipProblem(tags, installation) === undefined;",
    to: "  return true;",
    tests: ["test/api/tags.test.ts", "test/plan/ownership.test.ts"],
  },
  {
    name: "token bucket refills 1000x too fast",
    file: "controller/cloud/token-bucket.ts",
    from: "elapsed * this.size.refillPerSecond",
    to: "elapsed * this.size.refillPerSecond * 1000",
    tests: ["test/cloud/token-bucket.test.ts", "test/cloud/rate-limiter.test.ts"],
  },
  {
    name: "an error with no status and no code is a client error",
    file: "controller/cloud/retry.ts",
    from: 'if (statusCode === 0 && code === "UnknownError") {',
    to: "if (false) {",
    tests: ["test/cloud/retry.test.ts"],
  },
  {
    name: "rootVolume dropped from the recipe hash",
    file: "controller/plan/recipe.ts",
    from: "      rootVolume: spec.bake?.rootVolume ?? {},\n",
    to: "",
    tests: ["test/plan/golden.test.ts"],
  },
  {
    name: "version: v2.3.0 accepted",
    file: "schemas/imagespec.schema.json",
    from: '"pattern": "^(0|[1-9][0-9]*)',
    to: '"pattern": "^v?(0|[1-9][0-9]*)',
    tests: ["test/validation/versions.test.ts", "test/api/generated.test.ts"],
  },
  {
    name: "the rule 'name without owners' never runs",
    file: "controller/validation/spec-rules.ts",
    from: "} else if (hasName && !hasOwners) {",
    to: "} else if (false) {",
    tests: ["test/validation/rules.test.ts"],
  },
  {
    name: "the rule 'neither owners nor name' never runs",
    file: "controller/validation/spec-rules.ts",
    from: "} else if (!hasOwners && !hasName) {",
    to: "} else if (false) {",
    tests: ["test/validation/rules.test.ts"],
  },
  {
    name: "the minAge-has-no-effect warning never runs",
    file: "controller/validation/spec-rules.ts",
    from: '      if (exact !== undefined) {\n        problems.push({\n          path: at("minAge"),',
    to: '      if (false) {\n        problems.push({\n          path: at("minAge"),',
    tests: ["test/validation/rules.test.ts"],
  },
  {
    name: "executor batch slice off by one",
    file: "controller/execute/executor.ts",
    from: "list.slice(i, i + MAX_BATCH)",
    to: "list.slice(i, i + MAX_BATCH - 1)",
    tests: ["test/execute"],
  },
  {
    name: "unquoted $LEAVEN_ROOT in the bake script",
    file: "controller/execute/user-data.ts",
    // The code's own template literal, as text: "$LEAVEN_ROOT" then the quoted path.
    from: ["return `", '"$LEAVEN_ROOT"', "$", "{shellQuote(absolutePath)}`;"].join(""),
    to: ["return `", "$LEAVEN_ROOT", "$", "{shellQuote(absolutePath)}`;"].join(""),
    tests: ["test/execute/user-data.test.ts"],
  },
];

const repo = resolve(import.meta.dirname, "..");
const scratch = mkdtempSync(join(tmpdir(), "leaven-known-mutants-"));
const tree = join(scratch, "tree");
execFileSync("git", ["-C", repo, "worktree", "add", "--detach", "-f", tree, "HEAD"], { stdio: "ignore" });
symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"));

const rows: [string, string, string][] = [];
let survivors = 0;
try {
  for (const mutant of MUTANTS) {
    const path = join(tree, mutant.file);
    const original = readFileSync(path, "utf8");
    if (!original.includes(mutant.from)) {
      rows.push([mutant.name, "-", "NOT APPLIED: the code changed; update scripts/known-mutants.ts"]);
      survivors++;
      continue;
    }
    writeFileSync(path, original.replace(mutant.from, mutant.to));
    const run = spawnSync("npx", ["vitest", "run", "--reporter=dot", ...mutant.tests], {
      cwd: tree,
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", CI: "true" },
    });
    writeFileSync(path, original);
    const failed = /Tests\s+(\d+) failed/.exec(run.stdout)?.[1];
    const killed = run.status !== 0;
    if (!killed) survivors++;
    rows.push([mutant.name, failed ?? (killed ? "error" : "0"), killed ? "killed" : "SURVIVED"]);
  }
} finally {
  execFileSync("git", ["-C", repo, "worktree", "remove", "--force", tree], { stdio: "ignore" });
  rmSync(scratch, { recursive: true, force: true });
}

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`${"mutant".padEnd(width)}  failing tests  verdict`);
for (const [name, failed, verdict] of rows)
  console.log(`${name.padEnd(width)}  ${failed.padStart(13)}  ${verdict}`);
console.log(`\n${rows.length - survivors} of ${rows.length} known mutants killed.`);
process.exit(survivors === 0 ? 0 : 1);
