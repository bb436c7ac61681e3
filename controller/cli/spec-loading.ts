import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import type { Logger } from "../log/logger.ts";
import { fittedWrite } from "../status/fit-text.ts";
import { type LoadResult, loadSpecs } from "../validation/load-specs.ts";
import { formatDiagnostic, type ValidationResult } from "../validation/result.ts";
import { type CliIo, UserError } from "./command.ts";

/** A path the user gave (or the current directory) under which no ImageSpec was found. */
export interface EmptyPath {
  path: string;
  /** `no ImageSpec in PATH: what was searched`, said as a warning. */
  message: string;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** How a path is named in messages: as given; the current directory by that name. */
function shown(path: string, cwd: string): string {
  return resolve(cwd, path) === resolve(cwd) && !isAbsolute(path) ? `the current directory (${cwd})` : path;
}

/**
 * The paths (as given; none: the current directory) with no ImageSpec document under them, each with a
 * warning that says what was searched. An empty folder or a folder of other YAML is a wrong path far more
 * often than an intent, and planning nothing would look like "nothing to do".
 */
export function emptyPaths(paths: string[], result: LoadResult, cwd: string): EmptyPath[] {
  const within = (path: string, file: string) => {
    const root = resolve(cwd, path);
    const absolute = resolve(cwd, file);
    return absolute === root || absolute.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
  };
  const empty: EmptyPath[] = [];
  for (const path of paths.length > 0 ? paths : ["."]) {
    if (result.imageSpecFiles.some((file) => within(path, file))) continue;
    const files = result.files.filter((file) => within(path, file));
    // Every document of another kind gets a "skipped" note; these files hold nothing else.
    const documents = result.diagnostics.filter(
      (d) => d.severity === "note" && files.includes(d.position.file),
    ).length;
    const directory = statSync(resolve(cwd, path)).isDirectory();
    const holds = directory
      ? `its ${plural(files.length, "YAML file")} ${files.length === 1 ? "holds" : "hold"}`
      : "it holds";
    const searched =
      files.length === 0
        ? "it has no *.yaml or *.yml files (hidden directories and node_modules are skipped)"
        : documents === 0
          ? `${holds} no documents`
          : `${holds} ${plural(documents, "document")}, ${documents === 1 ? "not" : "none"} of kind ImageSpec (apiVersion: leaven.dev/v1alpha1)`;
    empty.push({ path, message: `no ImageSpec in ${shown(path, cwd)}: ${searched}` });
  }
  return empty;
}

/** Loads and validates the specs, printing diagnostics; invalid specs are reported and left out. */
export async function loadForReconcile(
  paths: string[],
  io: CliIo,
  logger: Logger,
): Promise<ValidationResult> {
  const result = await loadSpecs(paths.length > 0 ? paths : ["."], { cwd: io.cwd });
  for (const diagnostic of result.diagnostics) {
    if (diagnostic.severity === "note") continue;
    fittedWrite(io.stderr, `${formatDiagnostic(diagnostic)}\n`);
  }
  const empty = emptyPaths(paths, result, io.cwd);
  for (const { message } of empty) fittedWrite(io.stderr, `warning: ${message}\n`);
  // With no ImageSpec at all, every image of the installation would look like a deleted spec's: refuse.
  if (result.imageSpecFiles.length === 0)
    throw new UserError(
      `no ImageSpec found in ${empty.map((e) => shown(e.path, io.cwd)).join(", ")}, so there is nothing to work on; pass the files or directories that hold your ImageSpecs (default: the current directory).`,
    );
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
