import type { Action, ActionKind } from "../plan/actions.ts";
import type { Plan } from "../plan/plan.ts";

const verbs: Record<ActionKind, { sign: string; label: string }> = {
  "launch-bake": { sign: "+", label: "bake" },
  "create-image": { sign: "+", label: "create image" },
  "copy-image": { sign: "+", label: "copy" },
  "set-tags": { sign: "~", label: "tag" },
  "remove-tags": { sign: "~", label: "untag" },
  "share-image": { sign: "~", label: "share" },
  "terminate-instance": { sign: "-", label: "terminate" },
  "deregister-image": { sign: "-", label: "deregister" },
  "disable-image": { sign: "-", label: "disable" },
};

function target(action: Action): string {
  switch (action.kind) {
    case "launch-bake":
      return `${action.build} on ${action.launch.imageId} (${action.launch.instanceType})`;
    case "create-image":
      return `${action.build} from ${action.image.instanceId} as "${action.image.name}"`;
    case "copy-image":
      return `${action.build} from ${action.copy.sourceRegion} ${action.copy.sourceImageId}`;
    case "set-tags":
      return `${action.imageId} (${action.build}) +${Object.keys(action.tags).join(", +")}`;
    case "remove-tags":
      return `${action.imageId} (${action.build}) -${action.keys.join(", -")}`;
    case "share-image":
      return `${action.imageId} (${action.build})`;
    case "terminate-instance":
      return `${action.instanceId}${action.build ? ` (${action.build})` : ""}`;
    case "deregister-image":
    case "disable-image":
      return `${action.imageId} (${action.build})`;
  }
}

/** Counts for the summary line: "3 to bake, 4 to copy, 2 channel moves, 1 to terminate". */
export function summarize(actions: readonly Action[]): string {
  const count = (kinds: ActionKind[]) => actions.filter((a) => kinds.includes(a.kind)).length;
  const parts = [
    [count(["launch-bake"]), "to bake"],
    [count(["create-image"]), "to image"],
    [count(["copy-image"]), "to copy"],
    [count(["set-tags", "remove-tags"]), "tag changes"],
    [count(["share-image"]), "to share"],
    [count(["terminate-instance"]), "to terminate"],
    [count(["disable-image"]), "to disable"],
    [count(["deregister-image"]), "to deregister"],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(", ");
}

/** The plan as `leaven plan` prints it, grouped by spec like Terraform: what, where, why. */
export function renderPlan(plan: Plan): string {
  const lines: string[] = [];
  const bySpec = new Map<string, Action[]>();
  for (const action of plan.actions) {
    const list = bySpec.get(action.spec) ?? [];
    list.push(action);
    bySpec.set(action.spec, list);
  }
  if (plan.actions.length === 0) {
    lines.push("No changes. The images match the specs.");
  } else {
    lines.push("Leaven will perform the following actions:", "");
    for (const [spec, actions] of bySpec) {
      lines.push(`  # ${spec}`);
      for (const action of actions) {
        const verb = verbs[action.kind];
        lines.push(`  ${verb.sign} ${verb.label.padEnd(12)} ${action.region.padEnd(14)} ${target(action)}`);
        lines.push(`      because ${action.reason}`);
      }
      lines.push("");
    }
    lines.push(`Plan: ${summarize(plan.actions)}.`);
  }
  const notReady = plan.statuses.filter((s) => s.phase !== "Ready");
  if (notReady.length > 0) {
    lines.push("", "Specs not ready:");
    for (const status of notReady)
      lines.push(`  ${status.name.padEnd(20)} ${status.phase.padEnd(9)} ${status.message}`);
  }
  return lines.join("\n") + "\n";
}

export function planToJson(plan: Plan): unknown {
  return {
    // The user data is long and derived from the spec: shown by size, not in full.
    actions: plan.actions.map((a) =>
      a.kind === "launch-bake"
        ? { ...a, launch: { ...a.launch, userData: `(${Buffer.byteLength(a.launch.userData)} bytes)` } }
        : a,
    ),
    summary: summarize(plan.actions),
    statuses: plan.statuses,
  };
}
