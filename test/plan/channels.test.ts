// Channel resolution of a base/app spec on its own (resolveChannels called directly): what each channel
// resolves to, what it keeps when its selector admits nothing, and the exact status and problem text.
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage, Tags } from "../../controller/cloud/port.ts";
import { resolveChannels } from "../../controller/plan/channels.ts";
import type { ObservedBuild } from "../../controller/plan/index-inventory.ts";
import { DAY, leavenImage, spec, T0 } from "./builders.ts";

const B1 = "2.3.0+00000001";
const B2 = "2.4.0+00000002";
const B3 = "3.0.0+00000003";
const NOW = T0;

const doc = (channels: ImageSpecSpec["channels"], extra: Partial<ImageSpecSpec> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.4.0",
    regions: ["us-east-1", "eu-west-1"],
    channels,
    ...extra,
  }).document;

/** A build with an image in each of `regions` (available unless `state`), created `age` before NOW. */
function build(
  id: string,
  age: number,
  tags: Tags = {},
  regions = ["us-east-1", "eu-west-1"],
  state: CloudImage["state"] = "available",
): ObservedBuild {
  const images = regions.map((region) =>
    leavenImage(region, "base", id, {
      id: `ami-${id.slice(-1)}-${region.slice(0, 2)}`,
      state: region === "us-east-1" ? state : "available",
      createdAt: NOW - age,
      tags,
    }),
  );
  return {
    spec: "base",
    build: id,
    version: id.split("+")[0]!,
    parentSpec: "ubuntu",
    parentBuild: "ubuntu/images/jammy-20260301",
    images: new Map(images.map((i) => [i.region, i])),
  };
}
const builds = (...list: ObservedBuild[]) => new Map(list.map((b) => [b.build, b]));
const imagesOf = (n: number) =>
  new Map([
    ["us-east-1", `ami-${n}-us`],
    ["eu-west-1", `ami-${n}-eu`],
  ]);

describe("resolveChannels", () => {
  it("resolves a version range with the builds' versions", () => {
    const r = resolveChannels(
      doc({ stable: { version: "~2.3.0" } }),
      builds(build(B1, 3 * DAY), build(B2, 2 * DAY), build(B3, DAY)),
      NOW,
    );
    expect(r.channels.get("stable")).toEqual({ ok: true, value: { build: B1, images: imagesOf(1) } });
    expect(r.status).toEqual({
      stable: { build: B1, images: { "us-east-1": "ami-1-us", "eu-west-1": "ami-1-eu" } },
    });
    expect(r.problems).toEqual([]);
  });

  it("keeps a channel on its build when the pinned build is not ready yet, and says so as a wait", () => {
    const r = resolveChannels(
      doc({ release: { build: B3 } }),
      builds(
        build(B1, 3 * DAY, { [channelTag("release")]: "true" }),
        build(B3, DAY, {}, undefined, "pending"),
      ),
      NOW,
    );
    const message = `stays on ${B1}: build ${B3} is not ready yet (baking, copying or failed)`;
    expect(r.channels.get("release")).toEqual({ ok: true, value: { build: B1, images: imagesOf(1) } });
    expect(r.resolved.size).toBe(0);
    expect(r.status).toEqual({
      release: { build: B1, images: { "us-east-1": "ami-1-us", "eu-west-1": "ami-1-eu" }, message },
    });
    expect(r.problems).toEqual([{ phase: "Waiting", message: `channel release ${message}` }]);
  });

  it("keeps a channel pinned to a build that does not exist, listing the builds newest first, as a stall", () => {
    const r = resolveChannels(
      doc({ release: { build: "9.9.9+ffffffff" } }),
      builds(
        // Only a copy left, no home image: listed last, wherever they come in the inventory.
        build("1.0.0+0000000a", 0, {}, ["eu-west-1"]),
        build(B1, 3 * DAY, { [channelTag("release")]: "true" }),
        build(B2, 2 * DAY),
        build(B3, DAY),
        build("1.0.0+0000000b", 0, {}, ["eu-west-1"]),
      ),
      NOW,
    );
    const message = `stays on ${B1}: build 9.9.9+ffffffff does not exist (builds of this spec, newest first: ${B3}, ${B2}, ${B1}, 1.0.0+0000000a, 1.0.0+0000000b)`;
    expect(r.status.release?.message).toBe(message);
    expect(r.problems).toEqual([{ phase: "Stalled", message: `channel release ${message}` }]);
  });

  it("does not count a foreign tag that merely ends like a channel tag as being in that channel", () => {
    // "acme.example/stage/" is as long as "leaven.dev/channel/".
    const r = resolveChannels(
      doc({ release: { latest: true }, stable: { follow: "release" } }),
      builds(
        build(B1, 3 * DAY, { [channelTag("release")]: "true" }),
        build(B2, 2 * DAY, { "acme.example/stage/release": "true" }),
      ),
      NOW,
    );
    expect(r.status.stable).toEqual({
      build: B1,
      images: { "us-east-1": "ami-1-us", "eu-west-1": "ami-1-eu" },
    });
  });

  it("lets a channel with no build to keep report why, with nothing resolved", () => {
    const r = resolveChannels(doc({ release: { build: "9.9.9+ffffffff" } }), builds(build(B1, DAY)), NOW);
    const message = `build 9.9.9+ffffffff does not exist (builds of this spec, newest first: ${B1})`;
    expect(r.channels.get("release")).toEqual({ ok: false, message });
    expect(r.status).toEqual({ release: { images: {}, message } });
    expect(r.problems).toEqual([{ phase: "Stalled", message: `channel release: ${message}` }]);
  });
});

describe("resolveChannels: the build a revoked channel keeps", () => {
  it("is never a revoked one", () => {
    const r = resolveChannels(
      doc({ release: { build: "9.9.9+ffffffff" } }, { revoked: [{ build: B1, reason: "bad" }] }),
      builds(build(B1, 3 * DAY, { [channelTag("release")]: "true", [Tag.revoked]: "bad" })),
      NOW,
    );
    expect(r.channels.get("release")).toEqual({
      ok: false,
      message: `build 9.9.9+ffffffff does not exist (builds of this spec, newest first: ${B1})`,
    });
  });
});
