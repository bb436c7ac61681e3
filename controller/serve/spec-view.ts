// What /status says of a pass, shared by the two sources of the HTTP server (`leaven run`'s watch loop and
// the Kubernetes operator), so the web view shows the same things whichever runs it.
import { Tag } from "../api/tags.ts";
import { strayRegionsOf, strayRegionsText } from "../observe/stray-regions.ts";
import type { SpecStatus } from "../plan/status.ts";
import type { PassResult } from "../reconcile/reconciler.ts";
import type { ValidationResult } from "../validation/result.ts";
import type { SpecError, SpecView } from "./source.ts";

/** What a source knows of a spec beyond its status (each left out of the view when undefined). */
export interface SpecViewExtras {
  outdated?: string[] | undefined;
  source?: string | undefined;
  error?: SpecError | undefined;
}

/** A spec's status as /status shows it. */
export function specViewOf(status: SpecStatus, extras: SpecViewExtras = {}): SpecView {
  return {
    name: status.name,
    layer: status.layer,
    phase: status.phase,
    message: status.message,
    ...(status.parent ? { parent: status.parent } : {}),
    ...(status.desiredBuild ? { desiredBuild: status.desiredBuild } : {}),
    channels: status.channels,
    builds: status.builds,
    ...(extras.outdated ? { outdated: extras.outdated } : {}),
    ...(extras.source ? { source: extras.source } : {}),
    ...(extras.error ? { error: extras.error } : {}),
  };
}

/**
 * Builds whose parent channel has moved on since they were baked (as `leaven builds` marks them): one walk of
 * the pass's images, so /status can mark them for every spec without a history per spec.
 */
export function outdatedBuilds(pass: PassResult): Map<string, string[]> {
  const channels = new Map(pass.statuses.map((s) => [s.name, s.channels]));
  const found = new Map<string, Set<string>>();
  for (const image of pass.inventory.images) {
    const spec = image.tags[Tag.spec];
    const build = image.tags[Tag.build];
    const parent = image.tags[Tag.parentSpec];
    const channel = image.tags[Tag.parentChannel];
    if (!spec || !build || !parent || !channel) continue;
    const now = channels.get(parent)?.[channel]?.build;
    if (now === undefined || now === image.tags[Tag.parentBuild]) continue;
    const builds = found.get(spec) ?? new Set<string>();
    builds.add(build);
    found.set(spec, builds);
  }
  return new Map([...found].map(([spec, builds]) => [spec, [...builds].sort()]));
}

/** What the pass saw that the user should know though it is no error: regions no spec names any more. */
export function passWarnings(pass: PassResult | undefined, validation: ValidationResult): string[] {
  if (!pass) return [];
  const strays = strayRegionsOf(pass.inventory.regions, validation.specs);
  return strays.length > 0 ? [strayRegionsText(strays)] : [];
}
