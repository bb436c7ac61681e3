import { channelMoves } from "../execute/channel-order.ts";
import { strayRegionsText } from "../observe/stray-regions.ts";
import type { Action, ActionKind } from "../plan/actions.ts";
import type { Plan } from "../plan/plan.ts";
import { channelsOf } from "./action-text.ts";
import type { Verdict } from "./verdict.ts";

const verbs: Record<ActionKind, { sign: string; label: string }> = {
  "launch-bake": { sign: "+", label: "bake" },
  "launch-check": { sign: "+", label: "check" },
  "create-image": { sign: "+", label: "create image" },
  "copy-image": { sign: "+", label: "copy" },
  "tag-copy": { sign: "~", label: "tag copy" },
  "set-tags": { sign: "~", label: "tag" },
  "remove-tags": { sign: "~", label: "untag" },
  "share-image": { sign: "~", label: "share" },
  "terminate-instance": { sign: "-", label: "terminate" },
  "deregister-image": { sign: "-", label: "deregister" },
  "disable-image": { sign: "-", label: "disable" },
  "deprecate-image": { sign: "-", label: "deprecate" },
  "restore-image": { sign: "~", label: "restore" },
  "keep-instance": { sign: "~", label: "keep" },
  "tag-instance": { sign: "~", label: "tag instance" },
  "delete-snapshot": { sign: "-", label: "delete" },
  "record-failure": { sign: "+", label: "record" },
  "delete-failure-record": { sign: "-", label: "forget" },
  "put-parameter": { sign: "~", label: "publish" },
  "delete-parameter": { sign: "-", label: "unpublish" },
  "store-manifest": { sign: "+", label: "store manifest" },
  "launch-bakery-host": { sign: "+", label: "bakery host" },
  "stop-instance": { sign: "~", label: "stop" },
  "start-instance": { sign: "~", label: "start" },
  "create-volume": { sign: "+", label: "bake volume" },
  "attach-volume": { sign: "~", label: "attach" },
  "send-bake-command": { sign: "+", label: "run bake" },
  "detach-volume": { sign: "~", label: "detach" },
  "tag-volume": { sign: "~", label: "tag volume" },
  "delete-volume": { sign: "-", label: "delete volume" },
  "create-bake-snapshot": { sign: "+", label: "snapshot" },
  "register-image": { sign: "+", label: "register image" },
};

function target(action: Action): string {
  switch (action.kind) {
    case "launch-bake": {
      const key = action.launch.rootVolume?.kmsKeyId;
      return `${action.build} on ${action.launch.imageId} (${action.launch.instanceType}${key ? `, root volume encrypted with ${key}` : ""})`;
    }
    case "launch-check":
      return `${action.check} check of ${action.build} on ${action.launch.imageId} (${action.launch.instanceType})`;
    case "create-image":
      return `${action.build} from ${action.image.instanceId} as "${action.image.name}"`;
    case "store-manifest":
      return action.volumeId
        ? `${action.build}'s packages from the bake command's output for ${action.volumeId}`
        : `${action.build}'s packages from the console of ${action.instanceId}`;
    case "copy-image":
      return `${action.build} from ${action.copy.sourceRegion} ${action.copy.sourceImageId}`;
    case "tag-copy":
      return `${action.imageId} (${action.build}) copied from ${action.sourceRegion} ${action.sourceImageId}`;
    case "set-tags":
      return `${action.imageId} (${action.build}) +${Object.keys(action.tags).join(", +")}`;
    case "remove-tags":
      return `${action.imageId} (${action.build}) -${action.keys.join(", -")}`;
    case "share-image": {
      // What the image's permissions will be, exactly: the plan cannot know what they are now.
      const { accounts = [], organizationArns = [], organizationalUnitArns = [] } = action.permissions;
      const who = [...accounts, ...organizationArns, ...organizationalUnitArns];
      const snapshots = action.snapshotAccounts.length
        ? `; its snapshots with ${action.snapshotAccounts.join(", ")}`
        : "";
      return `${action.imageId} (${action.build}) with ${who.length ? `exactly ${who.join(", ")}` : "nobody"}${snapshots}`;
    }
    case "terminate-instance":
      return `${action.instanceId}${action.build ? ` (${action.build})` : ""}`;
    case "keep-instance":
      return `${action.instanceId} (${action.build}) stopped for debugging`;
    case "delete-snapshot":
      return `snapshot ${action.snapshotId}${action.build ? ` (${action.build})` : ""}`;
    case "tag-instance":
      return `${action.instanceId} (${action.build}) ${Object.entries(action.tags)
        .map(([key, value]) => `${key}=${value}`)
        .join(", ")}`;
    case "deregister-image":
      return `${action.imageId} (${action.build})${action.snapshotIds.length > 0 ? ` and ${action.snapshotIds.join(", ")}` : ""}`;
    case "disable-image":
    case "deprecate-image":
    case "restore-image":
      return `${action.imageId} (${action.build})`;
    case "record-failure":
      return `failure of ${action.build} as launch template "${action.template.name}"`;
    case "delete-failure-record":
      return `failure record ${action.launchTemplateId} (${action.build})`;
    case "put-parameter":
      return action.previous
        ? `${action.parameter.name} = ${action.parameter.value} (was ${action.previous.value}, version ${action.previous.version})`
        : `${action.parameter.name} = ${action.parameter.value} (new)`;
    case "delete-parameter":
      return `${action.name} (${action.value})`;
    case "launch-bakery-host":
      return `bakery host (${action.launch.instanceType} on ${action.launch.imageId})`;
    case "stop-instance":
      return `${action.instanceId} (idle bakery host)`;
    case "start-instance":
      return `${action.instanceId} (stopped bakery host)`;
    case "create-volume":
      return `${action.build} from the root snapshot of ${action.parentImageId} in ${action.volume.availabilityZone}${action.volume.kmsKeyId ? `, encrypted with ${action.volume.kmsKeyId}` : ""}`;
    case "attach-volume":
      return `${action.volumeId} (${action.build}) to ${action.instanceId} as ${action.device}`;
    case "send-bake-command":
      return `chroot bake of ${action.build} on ${action.volumeId} via ${action.instanceId}`;
    case "detach-volume":
      return `${action.volumeId} (${action.build}) from ${action.instanceId}`;
    case "tag-volume":
      return `${action.volumeId} (${action.build}) ${Object.keys(action.tags).join(", ")}`;
    case "delete-volume":
      return `${action.volumeId}${action.build ? ` (${action.build})` : ""}`;
    case "create-bake-snapshot":
      return `${action.build} of ${action.volumeId}`;
    case "register-image":
      return `${action.build} from ${action.snapshotId} as "${action.image.name}"`;
  }
}

/**
 * Counts for the summary line: "3 to bake, 4 to copy, 2 channel moves, 1 tag update, 1 to terminate". A channel
 * move is a channel put on a build in a region (the removal from the build that had it goes with it); a
 * channel removal is one no move replaces (a revoked build, a channel no longer declared).
 */
export function summarize(actions: readonly Action[]): string {
  const count = (kinds: ActionKind[]) => actions.filter((a) => kinds.includes(a.kind)).length;
  const moves = channelMoves(actions);
  const channel = actions.filter((a) => channelsOf(a).length > 0);
  const channelAdds = channel.filter((a) => a.kind === "set-tags").length;
  const channelRemovals = channel.filter((a) => a.kind === "remove-tags" && !moves.has(a)).length;
  const tagUpdates = count(["set-tags", "remove-tags", "tag-copy", "tag-instance"]) - channel.length;
  const parts: [number, string, string][] = [
    [count(["launch-bake"]), "to bake", "to bake"],
    [count(["create-image"]), "to image", "to image"],
    [count(["launch-check"]), "to check", "to check"],
    [count(["copy-image"]), "to copy", "to copy"],
    [channelAdds, "channel move", "channel moves"],
    [channelRemovals, "channel removal", "channel removals"],
    [tagUpdates, "tag update", "tag updates"],
    [count(["share-image"]), "to share", "to share"],
    [count(["terminate-instance"]), "to terminate", "to terminate"],
    [count(["deprecate-image"]), "to deprecate", "to deprecate"],
    [count(["disable-image"]), "to disable", "to disable"],
    [count(["restore-image"]), "to restore", "to restore"],
    [count(["deregister-image"]), "to deregister", "to deregister"],
    [count(["delete-snapshot"]), "snapshot to delete", "snapshots to delete"],
    [count(["record-failure"]), "to record", "to record"],
    [count(["delete-failure-record"]), "to forget", "to forget"],
    [count(["put-parameter"]), "to publish", "to publish"],
    [count(["delete-parameter"]), "to unpublish", "to unpublish"],
    // Volume bakes: a bake starts with its volume; the other steps are counted as steps.
    [count(["create-volume"]), "to bake on a volume", "to bake on volumes"],
    [
      count([
        "attach-volume",
        "send-bake-command",
        "detach-volume",
        "tag-volume",
        "create-bake-snapshot",
        "register-image",
      ]),
      "volume bake step",
      "volume bake steps",
    ],
    [count(["delete-volume"]), "volume to delete", "volumes to delete"],
    [count(["launch-bakery-host"]), "bakery host to launch", "bakery hosts to launch"],
    [count(["stop-instance"]), "idle bakery host to stop", "idle bakery hosts to stop"],
    [count(["start-instance"]), "stopped bakery host to start", "stopped bakery hosts to start"],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, one, many]) => `${n} ${n === 1 ? one : many}`)
    .join(", ");
}

/**
 * The plan as `leaven plan` prints it, grouped by spec like Terraform: what, where, why; then the specs
 * not ready; then the verdict's headline, last, once.
 */
export function renderPlan(
  plan: Plan,
  verdict: Verdict,
  now?: number,
  /** Regions observed though no spec names them (observe/stray-regions.ts). */
  strayRegions: readonly string[] = [],
): string {
  const lines: string[] = [];
  const bySpec = new Map<string, Action[]>();
  for (const action of plan.actions) {
    const list = bySpec.get(action.spec) ?? [];
    list.push(action);
    bySpec.set(action.spec, list);
  }
  if (plan.actions.length > 0) {
    lines.push("Leaven will perform the following actions:", "");
    for (const [spec, actions] of bySpec) {
      lines.push(`  # ${spec}`);
      for (const action of actions) {
        const verb = verbs[action.kind];
        // A parameter Leaven creates is an addition; one it overwrites, a change.
        const sign = action.kind === "put-parameter" && !action.parameter.overwrite ? "+" : verb.sign;
        lines.push(`  ${sign} ${verb.label.padEnd(12)} ${action.region.padEnd(14)} ${target(action)}`);
        lines.push(`      because ${action.reason}`);
      }
      lines.push("");
    }
  }
  lines.push(...renderRetention(plan, now));
  lines.push(...renderRebuilds(plan, now));
  if (strayRegions.length > 0) {
    if (lines.length > 0 && lines.at(-1) !== "") lines.push("");
    lines.push(strayRegionsText(strayRegions));
  }
  const notReady = plan.statuses.filter((s) => s.phase !== "Ready");
  if (notReady.length > 0) {
    if (lines.length > 0 && lines.at(-1) !== "") lines.push("");
    lines.push("Specs not ready:");
    for (const status of notReady)
      lines.push(
        `  ${status.name.padEnd(20)} ${status.phase.padEnd(9)} ${withoutRegionErrors(status.message, verdict)}`,
      );
  }
  if (lines.length > 0 && lines.at(-1) !== "") lines.push("");
  const summary = plan.actions.length > 0 ? `Plan: ${summarize(plan.actions)}.` : undefined;
  if (summary) lines.push(summary);
  if (verdict.headline !== summary) lines.push(verdict.headline);
  return lines.join("\n") + "\n";
}

/** Whole days (hours under a day, minutes under an hour) between two times, for ages: "12d", "5h", "7m". */
export function ageText(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  if (hours < 1) return `${Math.max(0, Math.floor(ms / 60_000))}m`;
  return hours >= 24 ? `${Math.floor(hours / 24)}d` : `${hours}h`;
}

/** "2026-12-03 00:00 UTC" for an ISO instant. */
function utcMinute(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** Each scheduled spec's window: its build (or that it is being rebaked) and when the next rebake is due. */
export function renderRebuilds(plan: Plan, now: number | undefined): string[] {
  const scheduled = plan.statuses.filter((s) => s.rebuild !== undefined);
  if (scheduled.length === 0) return [];
  const width = Math.max(...scheduled.map((s) => s.name.length));
  const lines = ["Scheduled rebakes:"];
  for (const status of scheduled) {
    const rebuild = status.rebuild!;
    const next = `next rebake ${utcMinute(rebuild.next)}${now !== undefined ? ` (in ${ageText(Date.parse(rebuild.next) - now)})` : ""}`;
    const window =
      status.phase === "Ready"
        ? `this window's build ${status.desiredBuild} is ready, nothing due`
        : `build ${status.desiredBuild} of the window since ${utcMinute(rebuild.epoch)}: ${status.phase}`;
    lines.push(`  ${status.name.padEnd(width)}  ${rebuild.schedule}: ${window}; ${next}`);
  }
  lines.push("");
  return lines;
}

/** What retirement keeps past its age and why, and the images of deleted specs. */
export function renderRetention(plan: Plan, now: number | undefined): string[] {
  const lines: string[] = [];
  const retention = plan.retention;
  if (!retention) return lines;
  if (retention.paused)
    lines.push(`Retirement paused: ${retention.paused.replace(/^retirement waits: /, "")}.`, "");
  if (retention.kept.length > 0) {
    lines.push("Kept past their retirement age:");
    for (const kept of retention.kept)
      lines.push(
        `  ${kept.spec} ${kept.build} ${kept.region} ${kept.imageId}: ${kept.protections.join("; ")}`,
      );
    lines.push("");
  }
  if (retention.orphans.length > 0) {
    lines.push("Orphans (images of specs no longer in the sources):");
    for (const orphan of retention.orphans) {
      const age = now !== undefined ? `, ${ageText(now - Date.parse(orphan.createdAt))} old` : "";
      const use =
        orphan.usedBy === undefined
          ? "use not observed"
          : orphan.usedBy.length > 0
            ? `used by ${orphan.usedBy.join(", ")}`
            : "unused";
      const fate =
        orphan.onDelete === "retire"
          ? "retired on its schedule (onDelete: retire)"
          : "retained (onDelete: retain)";
      lines.push(
        `  ${orphan.spec} ${orphan.build} in ${Object.keys(orphan.images).join(", ")}${age}, ${use}: ${fate}`,
      );
    }
    lines.push("");
  }
  return lines;
}

/** A blind spec's status repeats its regions' errors; the headline says each once, so the list need not. */
export function withoutRegionErrors(message: string, verdict: Verdict): string {
  let text = message;
  for (const problem of verdict.problems) {
    if (problem.kind === "unobservable" && problem.error !== undefined)
      text = text.replaceAll(` (${problem.error})`, "");
  }
  return text;
}

/** The plan for `--output json`; `exitCode` is the status this run exits with. */
export function planToJson(
  plan: Plan,
  verdict: Verdict,
  exitCode: number,
  strayRegions: readonly string[] = [],
): unknown {
  return {
    verdict: { state: verdict.state, exitCode, headline: verdict.headline, problems: verdict.problems },
    // The user data is long and derived from the spec: shown by size, not in full.
    actions: plan.actions.map((a) =>
      a.kind === "launch-bake" || a.kind === "launch-check"
        ? { ...a, launch: { ...a.launch, userData: `(${Buffer.byteLength(a.launch.userData)} bytes)` } }
        : a.kind === "record-failure"
          ? {
              ...a,
              template: {
                ...a.template,
                launch: {
                  ...a.template.launch,
                  userData: `(${Buffer.byteLength(a.template.launch.userData)} bytes)`,
                },
              },
            }
          : a,
    ),
    summary: summarize(plan.actions),
    statuses: plan.statuses,
    ...(plan.retention
      ? {
          retention: {
            kept: plan.retention.kept,
            orphans: plan.retention.orphans,
            ...(plan.retention.paused ? { paused: plan.retention.paused } : {}),
          },
        }
      : {}),
    ...(strayRegions.length > 0 ? { strayRegions } : {}),
  };
}
