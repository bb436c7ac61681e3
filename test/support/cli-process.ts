// Runs the leaven CLI as a user would: a child process of the same Node, output captured.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
import { tempDir } from "./temp-dir.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const cliPath = join(repoRoot, "controller/cli/main.ts");

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `env`, when given, is the child's whole environment (plus NO_COLOR), not an addition to this one's. */
export function startCli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; done: Promise<CliRun>; output: () => string; errors: () => string } {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...env, NO_COLOR: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  // A test that fails before it stops its CLI must not leave it running (and writing into a scratch
  // folder being removed): onTestFinished runs in reverse order, so this comes before that removal.
  try {
    onTestFinished(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await once(child, "exit");
    });
  } catch {
    // Started outside a test: its caller stops it.
  }
  return { child, done, output: () => stdout, errors: () => stderr };
}

export function runCli(args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<CliRun> {
  return startCli(args, cwd, env).done;
}

/** A scratch copy of examples/ (or of a fixture folder) that a test may edit; removed after the test. */
export function scratchEstate(from = join(repoRoot, "examples")): string {
  const dir = tempDir("leaven-test-");
  cpSync(from, join(dir, "specs"), { recursive: true });
  return dir;
}

/** Resolves when `predicate(output())` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(
  output: () => string,
  predicate: (text: string) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const start = Date.now();
  while (!predicate(output())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting; output so far:\n${output().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
