// `--retry SPEC` re-arms a failed build. A misspelt name or a spec with nothing to retry used to be
// ignored in silence, so a user believed a retry was under way when none was: both are refused.
import type { SpecStatus } from "../plan/status.ts";
import type { ValidationResult } from "../validation/result.ts";
import { didYouMean } from "../validation/suggest.ts";
import { UserError } from "./command.ts";

/** Refuses names that are no spec (valid or blocked), before anything is observed or changed. */
export function checkRetryNames(names: readonly string[], validation: ValidationResult): void {
  const known = [...validation.specs.map((s) => s.name), ...validation.blocked.keys()];
  const unknown = [...new Set(names)].filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  throw new UserError(
    unknown
      .map((name) => {
        const hint = didYouMean(name, known);
        return `--retry ${name}: there is no spec named "${name}"${hint || "; `leaven graph` lists the specs"}`;
      })
      .join("\n"),
  );
}

/**
 * Refuses specs with no failed build, judged on the plan without any retry armed: only phase Failed has
 * a build that --retry can bake again.
 */
export function checkRetryPhases(names: readonly string[], statuses: readonly SpecStatus[]): void {
  const refusals = [...new Set(names)].flatMap((name) => {
    const status = statuses.find((s) => s.name === name);
    if (!status || status.phase === "Failed") return [];
    return [
      `--retry ${name}: ${name} has no failed build to retry (its phase is ${status.phase}); --retry re-arms a spec whose phase is Failed`,
    ];
  });
  if (refusals.length > 0) throw new UserError(refusals.join("\n"));
}
