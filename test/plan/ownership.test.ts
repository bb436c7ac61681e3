// The planner never targets a resource that is not this installation's. Each scenario below makes the
// planner emit one kind of mutating or destructive action against one resource when that resource is
// Leaven's (the control), then swaps the resource's owner tags for a look-alike's and checks that no
// action touches it any more.
import { describe, expect, it } from "vitest";
import { formatBakeMarker, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { Tags } from "../../controller/cloud/port.ts";
import { targetsOf } from "../../controller/execute/ownership-guard.ts";
import type { Inventory } from "../../controller/observe/inventory.ts";
import type { Action, ActionKind } from "../../controller/plan/actions.ts";
import { type PlanInput, plan } from "../../controller/plan/plan.ts";
import { buildIdFor, recipeHash } from "../../controller/plan/recipe.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import { bakeInstance, inventory, leavenImage, MIN, spec, T0, ubuntu } from "./builders.ts";

const base = spec("base", {
  layer: "base",
  parent: { spec: "ubuntu", channel: "release" },
  version: "2.3.0",
  provision: { packages: ["acme-base=2.3.0"] },
  bake: { timeout: "30m" },
  regions: ["us-east-1", "eu-west-1"],
  share: { accounts: ["111122223333"] },
  channels: { candidate: { latest: true } },
});
const build = buildIdFor("base", "2.3.0", recipeHash(base.document.spec), "ubuntu/images/jammy-20260301");
const OLD = "2.2.0+00000000";

/** How a look-alike differs from a resource Leaven owns. */
const lookAlikes: [string, (tags: Tags) => Tags][] = [
  ["without the owner tag", ({ [Tag.managedBy]: _, ...rest }) => rest],
  ["owned by another tool", (tags) => ({ ...tags, [Tag.managedBy]: "leaven-evil" })],
  ["with an owner value in another case", (tags) => ({ ...tags, [Tag.managedBy]: "Leaven" })],
  ["with a padded owner value", (tags) => ({ ...tags, [Tag.managedBy]: "leaven " })],
  ["of another installation", (tags) => ({ ...tags, [Tag.installation]: "team-b" })],
];

interface Scenario {
  /** The action kind the planner emits against the resource when it is Leaven's. */
  kind: ActionKind;
  /** The resource's id. */
  target: string;
  specs: ValidSpec[];
  /** The world, with `own` applied to the resource's tags. */
  world: (own: (tags: Tags) => Tags) => Inventory;
  input?: Partial<PlanInput>;
}

const homeImage = (id: string, own: (tags: Tags) => Tags, tags: Tags = {}, state?: "failed") => {
  const made = leavenImage("us-east-1", "base", build, { id, ...(state ? { state } : {}), tags });
  return { ...made, tags: own(made.tags) };
};
const ownedBy = <R extends { tags: Tags }>(own: (tags: Tags) => Tags, resource: R): R => ({
  ...resource,
  tags: own(resource.tags),
});
const copy = (id: string, tags: Tags = {}) => leavenImage("eu-west-1", "base", build, { id, tags });
const instance = (
  id: string,
  own: (tags: Tags) => Tags,
  state: "running" | "stopped",
  specName = "base",
  buildId = build,
) => {
  const made = bakeInstance("us-east-1", specName, buildId, state, { id });
  return { ...made, tags: own(made.tags) };
};

const scenarios: [string, Scenario][] = [
  [
    "terminates the bake instance of a deleted spec",
    {
      kind: "terminate-instance",
      target: "i-gone",
      specs: [ubuntu, base],
      world: (own) => inventory({ instances: [instance("i-gone", own, "running", "deleted-spec", OLD)] }),
    },
  ],
  [
    "terminates the bake instance of a build no longer wanted",
    {
      kind: "terminate-instance",
      target: "i-old",
      specs: [ubuntu, base],
      world: (own) => inventory({ instances: [instance("i-old", own, "running", "base", OLD)] }),
    },
  ],
  [
    "terminates a duplicate bake instance",
    {
      kind: "terminate-instance",
      target: "i-dup",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          instances: [instance("i-keep", (t) => t, "running"), instance("i-dup", own, "running")],
        }),
    },
  ],
  [
    "terminates a bake instance that timed out",
    {
      kind: "terminate-instance",
      target: "i-slow",
      specs: [ubuntu, base],
      world: (own) => inventory({ instances: [instance("i-slow", own, "running")] }),
      input: { now: T0 + 31 * MIN },
    },
  ],
  [
    "terminates the bake instance once its image is available",
    {
      kind: "terminate-instance",
      target: "i-done",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          images: [homeImage("ami-home", (t) => t), copy("ami-copy")],
          instances: [instance("i-done", own, "stopped")],
        }),
    },
  ],
  [
    "creates the image of a bake instance that succeeded",
    {
      kind: "create-image",
      target: "i-baked",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          instances: [instance("i-baked", own, "stopped")],
          consoles: new Map([
            ["i-baked", parseBakeMarker(formatBakeMarker({ build, result: "success" }), build)],
          ]),
        }),
    },
  ],
  [
    "records the verdict read from a bake instance's console",
    {
      kind: "tag-instance",
      target: "i-verdict",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          instances: [instance("i-verdict", own, "stopped")],
          consoles: new Map([
            ["i-verdict", parseBakeMarker(formatBakeMarker({ build, result: "success" }), build)],
          ]),
        }),
    },
  ],
  [
    "records when a bake instance was first seen stopped",
    {
      kind: "tag-instance",
      target: "i-stopped",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          instances: [instance("i-stopped", own, "stopped")],
          consoles: new Map([["i-stopped", undefined]]),
        }),
    },
  ],
  [
    "deletes a snapshot no image references",
    {
      kind: "delete-snapshot",
      target: "snap-orphan",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          snapshotRegions: ["us-east-1", "eu-west-1"],
          snapshots: [
            {
              snapshotId: "snap-orphan",
              region: "us-east-1",
              state: "completed",
              startTime: new Date(T0 - 120 * MIN).toISOString(),
              tags: own({ [Tag.managedBy]: "leaven", [Tag.spec]: "base", [Tag.build]: OLD }),
            },
          ],
        }),
    },
  ],
  [
    "copies the home image to the other regions",
    {
      kind: "copy-image",
      target: "ami-home",
      specs: [ubuntu, base],
      world: (own) => inventory({ images: [homeImage("ami-home", own, { [Tag.shared]: "x" })] }),
    },
  ],
  [
    "removes the bake-instance tag once the instance is gone",
    {
      kind: "remove-tags",
      target: "ami-home",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          images: [homeImage("ami-home", own, { [Tag.bakeInstance]: "i-gone" }), copy("ami-copy")],
        }),
    },
  ],
  [
    "moves a channel tag off a build the channel no longer selects",
    {
      kind: "remove-tags",
      target: "ami-stale",
      specs: [ubuntu, base],
      world: (own) =>
        inventory({
          images: [
            homeImage("ami-home", (t) => t),
            copy("ami-copy"),
            ownedBy(
              own,
              leavenImage("us-east-1", "base", OLD, {
                id: "ami-stale",
                createdAt: T0 - 10 * MIN,
                tags: { [channelTag("candidate")]: "true" },
              }),
            ),
          ],
        }),
    },
  ],
  [
    "sets the channel tag on the build a channel selects",
    {
      kind: "set-tags",
      target: "ami-home",
      specs: [ubuntu, base],
      world: (own) => inventory({ images: [homeImage("ami-home", own), copy("ami-copy")] }),
    },
  ],
  [
    "shares an image with the spec's accounts",
    {
      kind: "share-image",
      target: "ami-home",
      specs: [ubuntu, base],
      world: (own) => inventory({ images: [homeImage("ami-home", own), copy("ami-copy")] }),
    },
  ],
  [
    "deregisters a failed image when a retry is asked for",
    {
      kind: "deregister-image",
      target: "ami-broken",
      specs: [ubuntu, base],
      world: (own) => inventory({ images: [homeImage("ami-broken", own, {}, "failed")] }),
      input: { retry: new Set(["base"]) },
    },
  ],
];

const touched = (actions: readonly Action[]) =>
  new Set(actions.flatMap((a) => targetsOf(a).map((t) => t.id)));

function planFor(scenario: Scenario, own: (tags: Tags) => Tags) {
  return plan({
    specs: scenario.specs,
    inventory: scenario.world(own),
    now: T0 + 5 * MIN,
    ...scenario.input,
  });
}

describe("plan: only this installation's resources are ever targeted", () => {
  it.each(scenarios)("control: %s when the resource is Leaven's", (_name, scenario) => {
    const p = planFor(scenario, (tags) => tags);
    const hits = p.actions.filter((a) => targetsOf(a).some((t) => t.id === scenario.target));
    expect(hits.map((a) => a.kind)).toContain(scenario.kind);
  });

  it.each(
    scenarios.flatMap(([name, scenario]) =>
      lookAlikes.map(([how, own]) => [name, how, scenario, own] as const),
    ),
  )("%s: never for a look-alike %s", (_name, _how, scenario, own) => {
    const p = planFor(scenario, own);
    expect(touched(p.actions)).not.toContain(scenario.target);
  });

  it("treats a resource of the default installation as its own only when it is the default installation", () => {
    const scenario = scenarios.find(([, s]) => s.kind === "share-image")![1];
    const tagged = (tags: Tags) => ({ ...tags, [Tag.installation]: "team-b" });
    const asTeamB = plan({ ...scenarioInput(scenario, tagged), installation: "team-b" });
    expect(touched(asTeamB.actions)).toContain("ami-home");
    const untagged = plan({ ...scenarioInput(scenario, (t) => t), installation: "team-b" });
    expect(touched(untagged.actions)).not.toContain("ami-home");
  });
});

function scenarioInput(scenario: Scenario, own: (tags: Tags) => Tags): PlanInput {
  return { specs: scenario.specs, inventory: scenario.world(own), now: T0 + 5 * MIN, ...scenario.input };
}
