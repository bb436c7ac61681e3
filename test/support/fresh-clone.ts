// A fresh clone of the repository for tests that follow the docs as a new user would: `git clone` of this
// checkout's HEAD (so only committed files), with node_modules linked from the checkout because `npm ci`
// takes a minute. Commands run in it through a shell, with this Node's folder first on PATH, so `npm` and
// `npx` are the ones of the Node running the tests.
import { execFileSync, spawn } from "node:child_process";
import { symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { repoRoot } from "./cli-process.ts";
import { tempDir } from "./temp-dir.ts";

export function freshClone(): string {
  const dir = join(tempDir("leaven-clone-"), "leaven");
  execFileSync("git", ["clone", "--quiet", repoRoot, dir], { stdio: "pipe" });
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

export const shellEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
  NO_COLOR: "1",
  // Not the test run's settings: the clone's own.
  NODE_OPTIONS: "",
  CI: "",
});

export interface ShellRun {
  line: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One command line started with sh in `cwd`, its output gathered as it comes. */
export function startShell(line: string, cwd: string, options: { detached?: boolean } = {}) {
  const child = spawn("/bin/sh", ["-c", line], {
    cwd,
    env: shellEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.detached ? { detached: true } : {}),
  });
  const output = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const closed = new Promise<ShellRun>((resolve) => {
    child.on("close", (code) => resolve({ line, code, ...output }));
  });
  return { child, output, closed };
}

/** Runs one command line with sh in `cwd`, as a user types it. */
export async function sh(line: string, cwd: string, timeoutMs = 60_000): Promise<ShellRun> {
  const { child, closed } = startShell(line, cwd);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const run = await closed;
  clearTimeout(timer);
  return run;
}

/** The lines of a shell block, without comments and blank lines. */
export function commandLines(block: string): string[] {
  return block
    .split("\n")
    .map((line) => line.replace(/(^|\s+)#\s.*$/, "").trim())
    .filter((line) => line !== "");
}

/** The fenced blocks of `lang` in a markdown section (from its heading to the next heading of its level). */
export function sectionBlocks(markdown: string, heading: string, lang: string): string[] {
  const level = /^#+/.exec(heading)![0];
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const rest = markdown.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`^${level} `, "m"));
  const section = next < 0 ? rest : rest.slice(0, next);
  return [...section.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
}
