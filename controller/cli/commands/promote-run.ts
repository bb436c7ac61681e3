// `leaven promote SPEC --channel C --to BUILD|latest|CHANNEL`: the promotion as a one-line edit of the spec's
// YAML, checked against what exists in the cloud, with the diff and what apply will then do downstream.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { channelsFromTags } from "../../api/tags.ts";
import type { ImageSpec } from "../../api/types.generated.ts";
import { createLogger } from "../../log/logger.ts";
import { revokedBuilds } from "../../plan/channels.ts";
import { isReady } from "../../plan/distribute.ts";
import { indexInventory, type ObservedBuild } from "../../plan/index-inventory.ts";
import { plan as makePlan } from "../../plan/plan.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { editChannel, type NewSelector } from "../../sources/edit-channel.ts";
import { readFileSources } from "../../sources/file-source.ts";
import { unifiedDiff } from "../../sources/unified-diff.ts";
import { parseYamlDocuments } from "../../sources/yaml-documents.ts";
import { renderPlan } from "../../status/render-plan.ts";
import { verdictOf } from "../../status/verdict.ts";
import { isBuildId } from "../../validation/build-id.ts";
import { formatDiagnostic, type ValidationResult } from "../../validation/result.ts";
import { didYouMean } from "../../validation/suggest.ts";
import { validateDocuments } from "../../validation/validate.ts";
import { openCloud, reconcilerTarget, writeBanner } from "../cloud-target.ts";
import { type CliIo, type Command, UserError } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

/** Runs `leaven promote` (the descriptor, help and options are in promote.ts). */
export async function runPromote(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  if (values.kube === true) {
    const { promoteKube } = await import("../promote-kube.ts");
    return promoteKube(values, positionals, io);
  }
  const [specName, ...paths] = positionals;
  const channel = values.channel as string | undefined;
  const to = values.to as string | undefined;
  if (specName === undefined || channel === undefined || to === undefined)
    throw new UserError(
      "name the spec, the channel and the build, e.g. `leaven promote ubuntu-base --channel release --to candidate examples`; see --help.",
    );
  const dryRun = values["dry-run"] === true;
  const logger = createLogger(io.stderr, { level: "warn" });
  const validation = await loadForReconcile(paths, io, logger);
  const spec = findSpec(validation, specName, paths);
  const doc = spec.document;
  const channels = Object.keys(doc.spec.channels ?? {});
  checkChannel(doc, channel, channels);
  checkTo(doc, to, channels);

  const target = await openCloud(values, paths, io.cwd, logger);
  try {
    writeBanner(io.stderr, target.banner);
    const commit = specsCommit(paths, io.cwd);
    const reconciler = new Reconciler({
      ...reconcilerTarget(target),
      logger,
      ...(commit ? { commit } : {}),
    });
    const { plan: before, inventory } = await reconciler.plan(validation);
    const status = before.statuses.find((s) => s.name === specName);
    const builds = indexInventory(inventory).builds.get(specName) ?? new Map<string, ObservedBuild>();
    const was = status?.channels[channel]?.build;

    let selector: NewSelector;
    let why = "";
    if (to === "latest") {
      selector = { latest: true };
    } else if (channels.includes(to)) {
      const build = status?.channels[to]?.build;
      if (build === undefined)
        throw new UserError(
          `channel ${to} of ${specName} is on no build now (${status?.channels[to]?.message ?? status?.message ?? "not resolved"}), so there is nothing to pin. Nothing was changed.\n${listBuilds(doc, builds, channels)}`,
        );
      checkBuild(doc, builds, build, channels);
      selector = { build };
      why = `, the build ${to} is on`;
    } else {
      checkBuild(doc, builds, to, channels);
      selector = { build: to };
    }

    const file = resolve(io.cwd, spec.position.file);
    const text = readFileSync(file, "utf8");
    const edited = editChannel(text, { spec: specName, channel, selector });
    if (!edited.ok) throw new UserError(`${spec.position.file}: ${edited.error}. Nothing was changed.`);
    const where = `${specName}/${channel}`;
    if (!edited.changed) {
      io.stdout.write(
        "build" in selector
          ? `${where} already pins ${selector.build}${why}; nothing to change.\n`
          : `${where} already selects the latest ready build; nothing to change.\n`,
      );
      return 0;
    }

    // The edited spec, planned on the same observation: what apply will do once the edit is in.
    const after = await revalidate(paths, io, spec.position.file, edited.text);
    const problems = after.diagnostics.filter((d) => d.spec === specName && d.severity === "error");
    if (problems.length > 0 || !after.specs.some((s) => s.name === specName))
      throw new UserError(
        [
          `the edited ${specName} would not be valid (${after.blocked.get(specName) ?? "see below"}). Nothing was changed.`,
          ...problems.map((d) => `  ${formatDiagnostic(d)}`),
        ].join("\n"),
      );
    const planned = makePlan({
      specs: after.specs,
      blocked: after.blocked,
      inventory,
      now: target.clock.now(),
      retry: new Set(),
      unattributedErrors: after.diagnostics.some((d) => d.severity === "error" && d.spec === undefined),
      ...(commit ? { commit } : {}),
    });
    const resolved = planned.statuses.find((s) => s.name === specName)?.channels[channel];
    if ("build" in selector && resolved?.build !== selector.build)
      throw new UserError(
        `${where} would not move to ${selector.build}: ${resolved?.message ?? "the channel does not resolve"}. Nothing was changed.`,
      );

    if (!dryRun) writeFileSync(file, edited.text);
    let headline: string;
    if (!("build" in selector))
      headline = `Set ${where} to the latest ready build (now ${resolved?.build ?? "none"}; was ${was ?? "on no build"}).`;
    else if (edited.added) headline = `Add channel ${where} on ${selector.build}${why}.`;
    else if (was === selector.build) headline = `Pin ${where} to ${selector.build}, the build it is on now.`;
    else headline = `Promote ${where} from ${was ?? "no build"} to ${selector.build}${why}.`;
    const lines = [headline, ""];
    lines.push(unifiedDiff(text, edited.text, { path: spec.position.file }));
    if (edited.dropped.length > 0)
      lines.push(`Removed ${edited.dropped.join(", ")}: it has no effect on a pinned build.`, "");
    lines.push(
      dryRun
        ? `Dry run: ${spec.position.file} was not changed. With this edit, apply would do:`
        : `Wrote ${spec.position.file}; review and commit it. Then apply does:`,
      "",
    );
    const verdict = verdictOf({
      command: "plan",
      diagnostics: after.diagnostics,
      statuses: planned.statuses,
      actions: planned.actions,
      regionErrors: inventory.regionErrors,
    });
    io.stdout.write(`${lines.join("\n")}\n${renderPlan(planned, verdict)}`);
    if (was !== undefined && was !== ("build" in selector ? selector.build : undefined))
      io.stdout.write(
        `\nTo roll back: leaven promote ${specName} --channel ${channel} --to ${was}${paths.length > 0 ? ` ${paths.join(" ")}` : ""}\n`,
      );
    return 0;
  } finally {
    await target.close();
  }
}

/** Builds listed when a --to is refused; older ones are summarised. */
const LISTED_BUILDS = 10;

function findSpec(validation: ValidationResult, name: string, paths: string[]) {
  const spec = validation.specs.find((s) => s.name === name);
  if (spec !== undefined) {
    if (spec.document.spec.layer === "foundation")
      throw new UserError(
        `${name} is a foundation: its channels select vendor images (latest or image), not builds; edit its selector by hand.`,
      );
    return spec;
  }
  const blocked = validation.blocked.get(name);
  if (blocked !== undefined)
    throw new UserError(`spec ${name} is not reconciled (${blocked}); fix it first (leaven validate).`);
  const names = [...validation.specs.map((s) => s.name), ...validation.blocked.keys()].sort();
  const where = paths.length > 0 ? paths.join(" ") : "the current directory";
  throw new UserError(
    `${hinted(`no spec named ${name} in ${where}`, didYouMean(name, names))}${names.length > 0 ? ` Specs: ${names.join(", ")}.` : ""}`,
  );
}

/** A --channel one letter off an existing channel is a typo, not a new channel. */
function checkChannel(doc: ImageSpec, channel: string, channels: string[]): void {
  if (channels.includes(channel)) return;
  const hint = didYouMean(channel, channels);
  if (hint !== "")
    throw new UserError(
      `${hinted(`${doc.metadata.name} has no channel ${channel}`, hint)} Its channels: ${channels.join(", ")}. Nothing was changed.`,
    );
}

/** --to is latest, a channel of the spec, or something that is meant as a build id. */
function checkTo(doc: ImageSpec, to: string, channels: string[]): void {
  if (to === "latest" || channels.includes(to) || isBuildId(to) || /^v?\d/.test(to)) return;
  throw new UserError(
    `${hinted(`${doc.metadata.name} has no channel ${to} to promote from`, didYouMean(to, [...channels, "latest"]))} --to takes a build id (VERSION+HASH, e.g. 2.3.0+5f2c91ab), latest, or a channel of ${doc.metadata.name}: ${channels.join(", ")}. Nothing was changed.`,
  );
}

/** Refuses a build that cannot be pinned: missing, revoked, or not in every region yet. */
function checkBuild(
  doc: ImageSpec,
  builds: ReadonlyMap<string, ObservedBuild>,
  id: string,
  channels: string[],
): void {
  const name = doc.metadata.name;
  const build = builds.get(id);
  let refusal: string | undefined;
  if (build === undefined) refusal = hinted(`${name} has no build ${id}`, didYouMean(id, [...builds.keys()]));
  else if (revokedBuilds(doc).has(id))
    refusal = `build ${id} of ${name} is revoked (${revokedBuilds(doc).get(id)}).`;
  else if (!isReady(doc, build))
    refusal = `build ${id} of ${name} is not available in every region of the spec yet (${missingRegions(doc, build)}); let apply finish it, or pick a ready build.`;
  if (refusal !== undefined)
    throw new UserError(`${refusal} Nothing was changed.\n${listBuilds(doc, builds, channels)}`);
}

/** "text; did you mean "x"?" when there is a hint, else "text." */
function hinted(text: string, hint: string): string {
  return hint === "" ? `${text}.` : `${text}${hint}`;
}

function missingRegions(doc: ImageSpec, build: ObservedBuild): string {
  return doc.spec.regions
    .map((region) => [region, build.images.get(region)?.state] as const)
    .filter(([, state]) => state !== "available")
    .map(([region, state]) => `${region}: ${state ?? "no image"}`)
    .join(", ");
}

/** The spec's builds, newest first, each ready or why not, with the channels it is in now. */
function listBuilds(doc: ImageSpec, builds: ReadonlyMap<string, ObservedBuild>, channels: string[]): string {
  const name = doc.metadata.name;
  if (builds.size === 0) return `${name} has no builds yet; run apply to bake one.`;
  const home = doc.spec.regions[0]!;
  const revoked = revokedBuilds(doc);
  const rows = [...builds.values()]
    .sort(
      (a, b) =>
        (b.images.get(home)?.creationDate ?? "").localeCompare(a.images.get(home)?.creationDate ?? "") ||
        (a.build < b.build ? 1 : -1),
    )
    .map((build) => {
      const reason = revoked.get(build.build);
      const state =
        reason !== undefined
          ? "revoked"
          : isReady(doc, build)
            ? "ready"
            : `not ready (${missingRegions(doc, build)})`;
      const homeImage = build.images.get(home);
      const inChannels = homeImage ? channelsFromTags(homeImage.tags) : [];
      return [build.build, state, inChannels.join(", ")] as const;
    });
  const shown = rows.slice(0, LISTED_BUILDS);
  const idWidth = Math.max(...shown.map(([id]) => id.length));
  const stateWidth = Math.max(...shown.map(([, state]) => state.length));
  const lines = shown.map(([id, state, inChannels]) =>
    `  ${id.padEnd(idWidth)}  ${inChannels === "" ? state : `${state.padEnd(stateWidth)}  ${inChannels}`}`.trimEnd(),
  );
  if (rows.length > shown.length) lines.push(`  … and ${rows.length - shown.length} older`);
  const also = ["latest", ...channels].join(", ");
  return [
    `Builds of ${name}, newest first:`,
    ...lines,
    `--to takes one of these builds, or one of: ${also}.`,
  ].join("\n");
}

/** The specs as they will read with `text` in `file`: the same loading, that one file's documents replaced. */
async function revalidate(paths: string[], io: CliIo, file: string, text: string): Promise<ValidationResult> {
  const read = await readFileSources(paths.length > 0 ? paths : ["."], io.cwd);
  const edited = parseYamlDocuments(text, file);
  // In the file's place in the reading order, so duplicate names and diagnostics come out as on disk.
  const first = read.documents.findIndex((d) => d.file === file);
  const documents = read.documents.flatMap((d, i) =>
    d.file !== file ? [d] : i === first ? edited.documents : [],
  );
  const broken = [...read.broken.filter((b) => b.position.file !== file), ...edited.broken];
  const result = validateDocuments(documents, { broken });
  return { ...result, diagnostics: [...edited.diagnostics, ...result.diagnostics] };
}
