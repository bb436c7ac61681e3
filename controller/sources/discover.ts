// Turns the paths a user passes into the sorted list of YAML files to read.
import type { Dirent, Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { UserError } from "../cli/command.ts";
import { readProblem, symlinkTarget } from "./read-problem.ts";

const YAML_FILE = /\.ya?ml$/;
const CONFIG_FILE = "leaven.yaml";

export interface DiscoveredFile {
  /** Absolute path, for reading. */
  absolute: string;
  /** Path shown in diagnostics: relative to cwd when inside it, else absolute. */
  display: string;
}

/**
 * Every `*.yaml`/`*.yml` file under the given files and directories (recursive; hidden directories,
 * node_modules and leaven.yaml, which is configuration, skipped), deduplicated and sorted by path so output
 * is deterministic. A file named explicitly is read whatever its extension. A path that does not exist is
 * a user error.
 */
export async function discoverFiles(paths: readonly string[], cwd: string): Promise<DiscoveredFile[]> {
  const found = new Set<string>();
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    let info: Stats;
    try {
      info = await stat(absolute);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      const link = await symlinkTarget(absolute);
      if (link === undefined && code === "ENOENT")
        throw new UserError(
          `${path}: no such file or directory; pass YAML files or directories that contain them`,
        );
      throw new UserError(`${path}: ${await readProblem(absolute, code)}`);
    }
    if (info.isDirectory()) {
      await walk(absolute, found);
    } else {
      found.add(absolute);
    }
  }
  return [...found].sort(byCodeUnit).map((absolute) => ({ absolute, display: displayPath(absolute, cwd) }));
}

async function walk(dir: string, found: Set<string>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new UserError(
      `${dir}: cannot read directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
      await walk(path, found);
    } else if (entry.name === CONFIG_FILE) {
    } else if (YAML_FILE.test(entry.name) && (entry.isFile() || entry.isSymbolicLink())) {
      found.add(path);
    }
  }
}

export function displayPath(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) return absolute;
  return rel;
}

// Plain code-unit order: localeCompare would make the order depend on the machine's locale.
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
