// An installation is one controller's share of an account: its name is recorded on everything it creates
// (leaven.dev/installation) and it treats every other installation's resources as foreign (tags.ts
// ownershipProblem). Several installations can share an account; one controller of an installation acts
// at a time (controller/lease).
import { DEFAULT_INSTALLATION, Tag } from "./tags.ts";

export { DEFAULT_INSTALLATION };

/** Lowercase letters, digits and hyphens, 1 to 63, starting and ending with a letter or digit. */
export const INSTALLATION_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` cannot be an installation name, or undefined when it can. */
export function installationProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return `expected a string, not ${name === null ? "null" : typeof name}`;
  if (INSTALLATION_PATTERN.test(name)) return undefined;
  const why =
    name.length === 0
      ? "it is empty"
      : name.length > 63
        ? `it is ${name.length} characters long`
        : /[A-Z]/.test(name)
          ? "it has uppercase letters"
          : /^-|-$/.test(name)
            ? "it starts or ends with a hyphen"
            : "it has characters other than lowercase letters, digits and hyphens";
  return `"${name}" is not a valid installation name (${why}): use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit — it is recorded in the ${Tag.installation} tag`;
}
