// The volume bake's package manifest, planned: the bake command asks for SSM's output in the manifests
// bucket only when one is configured, and a registered image whose manifest is not stored gets one
// store-manifest from its bake volume before the volume is cleaned up — again after a kill -9, until the
// image says stored or none.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudImage, Tags } from "../../controller/cloud/port.ts";
import type { VolumeBakeContext } from "../../controller/plan/volume-bake.ts";
import { T0 } from "./builders.ts";
import { attached, BUILD, observation, owner, REGION, step, V, volume } from "./volume-builders.ts";

const image = (state: CloudImage["state"], tags: Tags = {}): CloudImage => ({
  imageId: "ami-0000000000000baked",
  region: REGION,
  name: "leaven/base/1.0.0_abcdef12",
  ownerId: "123456789012",
  state,
  creationDate: new Date(T0).toISOString(),
  snapshotIds: ["snap-0000000000000001"],
  tags: { ...owner, [Tag.bakeVolume]: V, ...tags },
});
const baked = volume(V, { extra: { [Tag.bakeResult]: "success" } });
const attachedVolume = attached();

describe("the volume bake's package manifest", () => {
  it.each([
    ["no manifests bucket", {}, undefined],
    ["a manifests bucket", { manifests: true }, true],
  ])("with %s, the bake command asks for its output in the bucket or not", (_label, extra, expected) => {
    const { actions } = step(observation({ volumes: [attachedVolume] }), extra);
    const send = actions[0];
    if (send?.kind !== "send-bake-command") throw new Error(`expected send-bake-command, got ${send?.kind}`);
    expect(send.outputToManifests).toBe(expected);
    expect(send.command.outputS3).toBeUndefined();
  });

  it.each([
    ["pending", image("pending")],
    ["available", image("available")],
  ])(
    "stores the manifest of a %s image from its bake volume's command output, and nothing else",
    (_l, img) => {
      const { state, actions } = step(observation({ volumes: [baked] }), { manifests: true, homeImage: img });
      expect(state).toEqual({ step: "in-progress", message: `storing the package manifest of ${BUILD}` });
      expect(actions).toEqual([
        {
          kind: "store-manifest",
          spec: "base",
          build: BUILD,
          region: REGION,
          imageId: img.imageId,
          volumeId: V,
          parent: { spec: "ubuntu", build: "ubuntu-jammy-20260601" },
          reason: `the package manifest of ${BUILD} is in the output of the bake command on ${V}`,
        },
      ]);
    },
  );

  it.each<[string, Partial<VolumeBakeContext>, CloudImage, string[]]>([
    ["no manifests bucket", {}, image("available"), ["delete-volume"]],
    ["stored", { manifests: true }, image("available", { [Tag.manifest]: "stored" }), ["delete-volume"]],
    ["none", { manifests: true }, image("available", { [Tag.manifest]: "none" }), ["delete-volume"]],
    ["failed", { manifests: true }, image("failed"), []],
    [
      "no bake volume (an older bake)",
      { manifests: true },
      { ...image("available"), tags: owner },
      ["delete-volume"],
    ],
  ])("plans no manifest for an image with %s, and goes on", (_label, extra, img, kinds) => {
    expect(step(observation({ volumes: [baked] }), { ...extra, homeImage: img }).kinds).toEqual(kinds);
  });
});
