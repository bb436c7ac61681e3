import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Logger } from "../log/logger.ts";
import { loadSpecs } from "../validation/load-specs.ts";
import { formatDiagnostic, type ValidationResult } from "../validation/result.ts";
import type { CliIo } from "./command.ts";

/** Loads and validates the specs, printing diagnostics; invalid specs are reported and left out. */
export async function loadForReconcile(
  paths: string[],
  io: CliIo,
  logger: Logger,
): Promise<ValidationResult> {
  const result = await loadSpecs(paths.length > 0 ? paths : ["."], { cwd: io.cwd });
  for (const diagnostic of result.diagnostics) {
    if (diagnostic.severity === "note") continue;
    io.stderr.write(`${formatDiagnostic(diagnostic)}\n`);
  }
  for (const [spec, why] of result.blocked) logger.warn("spec not reconciled", { spec, why });
  return result;
}

/** The git commit of the specs' checkout, if they are in one. */
export function specsCommit(paths: string[], cwd: string): string | undefined {
  const first = resolve(cwd, paths[0] ?? ".");
  const dir = existsSync(first) && statSync(first).isDirectory() ? first : dirname(first);
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}
