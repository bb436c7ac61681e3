// Why a file listed for reading could not be read, in words that point at the fix.
import { lstat, readlink } from "node:fs/promises";

/**
 * The reason `absolute` could not be read with `code` (an errno code). A symbolic link that cannot be
 * followed says where it points, since "check its permissions" sends the user to the wrong place.
 */
export async function readProblem(absolute: string, code: string): Promise<string> {
  const link = await symlinkTarget(absolute);
  if (link !== undefined) {
    if (code === "ENOENT")
      return `is a symbolic link to ${link}, which does not exist; fix or remove the link`;
    if (code === "ELOOP")
      return `is a symbolic link to ${link}, which leads back to itself (a loop of links); fix or remove the link`;
  }
  if (code === "EACCES" || code === "EPERM") return `cannot read file (${code}); check its permissions`;
  if (code === "EISDIR") return `cannot read file (${code}): it is a directory`;
  return `cannot read file (${code})`;
}

/** Where a symbolic link points, as written in the link; undefined when `path` is not a link. */
export async function symlinkTarget(path: string): Promise<string | undefined> {
  try {
    const info = await lstat(path);
    if (!info.isSymbolicLink()) return undefined;
    return await readlink(path);
  } catch {
    return undefined;
  }
}
