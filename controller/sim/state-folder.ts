// The simulator's state lives in a `.leaven/` folder beside the specs, which is the user's repository:
// the folder carries its own .gitignore so that a simulated world is never committed by accident.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const STATE_FOLDER = ".leaven";
export const DEFAULT_STATE_FILE = join(STATE_FOLDER, "sim-state.json");

/** Creates the folder of `statePath` and, when it is a `.leaven/` folder, its `.gitignore` (`*`), unless there is one. */
export function prepareStateFolder(statePath: string): void {
  const folder = dirname(statePath);
  mkdirSync(folder, { recursive: true });
  if (basename(folder) !== STATE_FOLDER) return;
  const ignore = join(folder, ".gitignore");
  // `*` ignores the folder's every file, the .gitignore included: git never sees the folder at all.
  if (!existsSync(ignore)) writeFileSync(ignore, "*\n");
}
