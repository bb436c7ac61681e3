// findStrayRegions against the simulator over HTTP: which regions no spec names hold something of this
// installation's (an image, a volume, an instance, a parameter), what counts as its, and what a region that
// cannot be asked, or an account whose regions cannot be listed, gives.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { findStrayRegions } from "../../controller/observe/stray-regions.ts";
import { requestsOf, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const NAMED = new Set(["us-east-1", "eu-west-1"]);
const mine = (extra: Record<string, string> = {}) => ({
  [Tag.managedBy]: MANAGED_BY_VALUE,
  [Tag.spec]: "base",
  [Tag.build]: "1.0.0+00000001",
  ...extra,
});

/** The cloud with some calls failing in some regions. */
function failing(cloud: CloudPort, fails: (method: string, region: string) => boolean): CloudPort {
  return new Proxy(cloud, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (region: string, ...rest: unknown[]) => {
        if (fails(String(property), region))
          return Promise.reject(new Error(`UnauthorizedOperation: not allowed in ${region}`));
        return value.call(target, region, ...rest);
      };
    },
  });
}

describe("findStrayRegions", () => {
  it("finds the regions beyond the specs' with this installation's image, volume, instance or parameter", async () => {
    t.sim.seedImages([
      { region: "ap-southeast-2", name: "leaven/base/1", tags: mine() },
      // In a region the specs name: not stray, whatever it holds.
      { region: "eu-west-1", name: "leaven/base/2", tags: mine() },
      // Look-alikes: another installation's, and without the owner tag.
      { region: "sa-east-1", name: "leaven/base/3", tags: mine({ [Tag.installation]: "other-team" }) },
      { region: "ca-central-1", name: "leaven/base/4", tags: { [Tag.spec]: "base" } },
    ]);
    const [parent] = t.sim.seedImages([{ region: "us-west-2", name: "vendor", tags: {} }]);
    await t.cloud.createVolume("us-west-2", {
      snapshotId: t.sim.world.region("us-west-2").images.get(parent!)!.snapshotIds[0]!,
      availabilityZone: "us-west-2a",
      clientToken: "v",
      tags: mine({ [Tag.role]: "volume-bake" }),
    });
    const host = await t.cloud.runInstance("eu-central-1", {
      imageId: t.sim.seedImages([{ region: "eu-central-1", name: "al2023", tags: {} }])[0]!,
      instanceType: "t3.micro",
      userData: "",
      clientToken: "h",
      tags: mine({ [Tag.role]: "bakery" }),
    });
    await t.cloud.putParameter("ap-northeast-1", {
      name: "/leaven/base/release",
      value: t.sim.seedImages([{ region: "ap-northeast-1", name: "vendor", tags: {} }])[0]!,
      dataType: "aws:ec2:image",
      overwrite: false,
      tags: { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.installation]: "default" },
    });
    t.adapter.resetStats();
    const found = await findStrayRegions(t.cloud, "us-east-1", NAMED);
    // One DescribeRegions, then five calls in each of the 13 regions of the simulator's 15 no spec names.
    expect(t.adapter.stats().requests).toBe(1 + 5 * 13);
    expect(requestsOf(t.adapter, "us-east-1", "DescribeRegions")).toBe(1);
    expect(requestsOf(t.adapter, "eu-west-1", "DescribeImages")).toBe(0);
    expect(found.images.map((i) => `${i.region} ${i.name}`)).toEqual(["ap-southeast-2 leaven/base/1"]);
    expect({ ...found, images: [] }).toEqual({
      images: [],
      found: ["ap-northeast-1", "ap-southeast-2", "eu-central-1", "us-west-2"],
      contents: new Map([
        ["ap-southeast-2", "1 image(s)"],
        ["us-west-2", "1 volume(s)"],
        ["eu-central-1", "1 instance(s)"],
        ["ap-northeast-1", "1 parameter(s)"],
      ]),
      errors: new Map(),
      listed: true,
    });
    // Another installation sees only its own look-alike.
    expect((await findStrayRegions(t.cloud, "us-east-1", NAMED, "other-team")).found).toEqual(["sa-east-1"]);
    // A terminated instance is nothing left.
    await t.cloud.terminateInstances("eu-central-1", [host.instanceId]);
    t.clock.advance(60_000);
    expect((await findStrayRegions(t.cloud, "us-east-1", NAMED)).found).not.toContain("eu-central-1");
  });

  it("says which regions could not be asked, and that none was when the regions cannot be listed", async () => {
    t.sim.seedImages([{ region: "ap-southeast-2", name: "leaven/base/1", tags: mine() }]);
    const partly = await findStrayRegions(
      failing(t.cloud, (method, region) => method === "describeVolumes" && region === "ap-southeast-2"),
      "us-east-1",
      NAMED,
    );
    expect(partly.found).toEqual([]);
    expect(partly.errors).toEqual(
      new Map([["ap-southeast-2", "UnauthorizedOperation: not allowed in ap-southeast-2"]]),
    );
    const unlisted = await findStrayRegions(
      failing(t.cloud, (method) => method === "describeRegions"),
      "us-east-1",
      NAMED,
    );
    expect(unlisted).toEqual({
      found: [],
      contents: new Map(),
      images: [],
      errors: new Map([["us-east-1", "DescribeRegions: UnauthorizedOperation: not allowed in us-east-1"]]),
      listed: false,
    });
  });
});
