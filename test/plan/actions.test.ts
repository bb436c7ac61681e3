// Action keys identify "the very same request" across passes: the reconciler gives up on a key that keeps
// failing, so two different requests must never share one, and a key must not change between versions.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { type Action, actionKey } from "../../controller/plan/actions.ts";

const base = { spec: "base", region: "eu-west-1", reason: "test" } as const;
const launch = { imageId: "ami-1", instanceType: "t3.medium", userData: "", clientToken: "t", tags: {} };

describe("actionKey", () => {
  it.each<[Action, string]>([
    [{ ...base, kind: "launch-bake", build: "1.0.0+aa", launch }, "launch-bake/base/1.0.0+aa"],
    [
      { ...base, kind: "launch-check", check: "smoke", build: "1.0.0+aa", launch },
      "launch-check/smoke/base/1.0.0+aa",
    ],
    [
      { ...base, kind: "create-image", build: "1.0.0+aa", image: { instanceId: "i-1", name: "n", tags: {} } },
      "create-image/base/1.0.0+aa",
    ],
    [{ ...base, kind: "terminate-instance", instanceId: "i-1" }, "terminate/eu-west-1/i-1"],
    [
      {
        ...base,
        kind: "copy-image",
        build: "1.0.0+aa",
        copy: { sourceRegion: "us-east-1", sourceImageId: "ami-1", name: "n", clientToken: "t", tags: {} },
      },
      "copy/base/1.0.0+aa/eu-west-1",
    ],
    [
      { ...base, kind: "set-tags", build: "b", imageId: "ami-1", tags: { x: "1", y: "2" } },
      "set-tags/eu-west-1/ami-1/x,y",
    ],
    [
      { ...base, kind: "remove-tags", build: "b", imageId: "ami-1", keys: ["x", "y"] },
      "remove-tags/eu-west-1/ami-1/x,y",
    ],
    [
      {
        ...base,
        kind: "share-image",
        build: "b",
        imageId: "ami-1",
        permissions: {},
        snapshotIds: [],
        snapshotAccounts: [],
        shareHash: "h",
      },
      "share/eu-west-1/ami-1",
    ],
    [
      { ...base, kind: "deregister-image", build: "b", imageId: "ami-1", snapshotIds: [] },
      "deregister/eu-west-1/ami-1",
    ],
    [{ ...base, kind: "disable-image", build: "b", imageId: "ami-1" }, "disable/eu-west-1/ami-1"],
    [
      { ...base, kind: "keep-instance", build: "b", instanceId: "i-1", tags: {}, stop: true },
      "keep/eu-west-1/i-1",
    ],
    [
      {
        ...base,
        kind: "tag-instance",
        build: "b",
        instanceId: "i-1",
        tags: { [Tag.bakeResult]: "success" },
      },
      "tag-instance/eu-west-1/i-1/leaven.dev/bake-result",
    ],
    [
      { ...base, kind: "delete-snapshot", build: "b", snapshotId: "snap-1" },
      "delete-snapshot/eu-west-1/snap-1",
    ],
    [
      {
        ...base,
        kind: "record-failure",
        build: "1.0.0+aa",
        template: { name: "n", clientToken: "t", launch, tags: {} },
      },
      "record-failure/eu-west-1/base/1.0.0+aa",
    ],
    [
      { ...base, kind: "delete-failure-record", build: "1.0.0+aa", launchTemplateId: "lt-1" },
      "delete-failure-record/eu-west-1/lt-1",
    ],
  ])("%# %s", (action, key) => {
    expect(actionKey(action)).toBe(key);
  });
});
