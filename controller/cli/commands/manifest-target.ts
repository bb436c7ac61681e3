// What `leaven diff`, `leaven contains` and `leaven builds` share: the manifests bucket of the target, or
// the error that says how to name one; and the folder where manifests are kept once read.
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { ManifestTarget } from "../../execute/store-manifest.ts";
import type { CloudTarget } from "../cloud-target.ts";
import { UserError } from "../command.ts";

export function manifestsOf(target: CloudTarget, command: string): ManifestTarget {
  if (target.manifests) return target.manifests;
  throw new UserError(
    `no manifests bucket to read the builds' package manifests from: add manifests: { bucket: NAME, prefix: leaven } to the leaven.yaml beside the specs, then apply (each new bake stores its manifest), and run leaven ${command} again.`,
  );
}

/** `.leaven/manifests` beside the specs: manifests are never rewritten, so a copy read once holds. */
export function manifestCacheDir(paths: readonly string[], cwd: string): string {
  const first = resolve(cwd, paths[0] ?? ".");
  const dir = existsSync(first) && statSync(first).isDirectory() ? first : dirname(first);
  return join(dir, ".leaven", "manifests");
}
