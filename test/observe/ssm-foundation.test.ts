// Foundations whose source is an SSM parameter, observed on the simulator through the real adapter: one
// GetParameters per region, the image ids it holds described by id, the vendor cache, and the status a
// user sees when the parameter is missing in a region.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IMAGE_DATA_TYPE } from "../../controller/cloud/parameter-port.ts";
import { observeImages, VendorCache } from "../../controller/observe/observe.ts";
import { plan } from "../../controller/plan/plan.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import { spec } from "../plan/builders.ts";
import { MINUTE, requestTable, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const UBUNTU = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";

function ssmFoundation(
  parameter: string,
  regions: [string, ...string[]] = ["us-east-1", "eu-west-1"],
): ValidSpec {
  return spec("ubuntu", {
    layer: "foundation",
    source: { ssmParameter: parameter },
    regions,
    channels: { release: { latest: true } },
  });
}

describe("a foundation with source.ssmParameter", () => {
  it("reads the parameter once per region it is looked up in and describes the image it holds", async () => {
    const specs = [ssmFoundation(UBUNTU), baseSpec("base", { regions: ["ca-central-1"] })];
    const inventory = await observeImages(t.cloud, specs, { now: t.clock.now() });
    expect(requestTable(t.adapter)).toEqual({
      "ca-central-1 DescribeImages": 2,
      "ca-central-1 GetParameters": 1,
      "eu-west-1 DescribeImages": 2,
      "eu-west-1 GetParameters": 1,
      "us-east-1 DescribeImages": 2,
      "us-east-1 GetParameters": 1,
    });
    const vendor = inventory.vendorImages.get("ubuntu") ?? [];
    expect(vendor.map((i) => i.region).sort()).toEqual(["ca-central-1", "eu-west-1", "us-east-1"]);
    // The parameter holds the newest jammy amd64 image: the same name everywhere, a region's own id.
    const { parameters } = await t.cloud.getParameters("us-east-1", [UBUNTU]);
    expect(vendor.find((i) => i.region === "us-east-1")?.imageId).toBe(parameters[0]?.value);
    expect(new Set(vendor.map((i) => i.name)).size).toBe(1);

    // Channels resolve exactly as for the owners+name source's newest image.
    const byName = await observeImages(t.cloud, [ubuntuFoundation(["us-east-1", "eu-west-1"])], {
      now: t.clock.now(),
    });
    const viaSsm = plan({ specs: specs.slice(0, 1), inventory, now: t.clock.now() }).statuses[0];
    const viaName = plan({
      specs: [ubuntuFoundation(["us-east-1", "eu-west-1"])],
      inventory: byName,
      now: t.clock.now(),
    }).statuses[0];
    expect(viaSsm?.phase).toBe("Ready");
    expect(viaSsm?.channels.release?.build).toBe(viaName?.channels.release?.build);
    // …plus the child's home region, where the base bakes from it.
    expect(viaSsm?.channels.release?.images).toEqual({
      ...viaName?.channels.release?.images,
      "ca-central-1": vendor.find((i) => i.region === "ca-central-1")?.imageId,
    });
    expect(viaSsm?.message).toBe("1 vendor images match");
  });

  it("is served from the vendor cache within its TTL", async () => {
    const cache = new VendorCache(10 * MINUTE);
    const specs = [ssmFoundation(UBUNTU)];
    await observeImages(t.cloud, specs, { now: t.clock.now(), vendorCache: cache });
    t.adapter.resetStats();
    t.clock.advance(9 * MINUTE);
    const again = await observeImages(t.cloud, specs, { now: t.clock.now(), vendorCache: cache });
    expect(requestTable(t.adapter)).toEqual({ "eu-west-1 DescribeImages": 1, "us-east-1 DescribeImages": 1 });
    expect(again.vendorImages.get("ubuntu")).toHaveLength(2);
    t.adapter.resetStats();
    t.clock.advance(2 * MINUTE);
    await observeImages(t.cloud, specs, { now: t.clock.now(), vendorCache: cache });
    expect(requestTable(t.adapter)["us-east-1 GetParameters"]).toBe(1);
  });

  it("names the parameter and the regions it is missing in", async () => {
    const missing = "/aws/service/canonical/ubuntu/server/99.04/stable/current/amd64/hvm/ebs-gp2/ami-id";
    const specs = [ssmFoundation(missing)];
    const inventory = await observeImages(t.cloud, specs, { now: t.clock.now() });
    const status = plan({ specs, inventory, now: t.clock.now() }).statuses[0];
    expect(status?.phase).toBe("Stalled");
    expect(status?.message).toBe(
      `SSM parameter ${missing} does not exist in eu-west-1, us-east-1: check the name (public AMI parameters live under /aws/service/) and that it is published in those regions`,
    );
    expect(status?.channels.release).toEqual({ images: {}, message: status?.message });
  });

  it("names the one region an own parameter is missing in", async () => {
    const { parameters } = await t.cloud.getParameters("us-east-1", [UBUNTU]);
    await t.cloud.putParameter("us-east-1", {
      name: "/golden/ubuntu",
      value: parameters[0]!.value,
      dataType: IMAGE_DATA_TYPE,
      overwrite: false,
    });
    const specs = [ssmFoundation("/golden/ubuntu")];
    const inventory = await observeImages(t.cloud, specs, { now: t.clock.now() });
    const status = plan({ specs, inventory, now: t.clock.now() }).statuses[0];
    expect(status?.message).toBe(
      "SSM parameter /golden/ubuntu does not exist in eu-west-1: check the name (public AMI parameters live under /aws/service/) and that it is published in that region",
    );
    // Without eu-west-1 the same parameter resolves.
    const home = [ssmFoundation("/golden/ubuntu", ["us-east-1"])];
    const homeInventory = await observeImages(t.cloud, home, { now: t.clock.now() });
    expect(
      plan({ specs: home, inventory: homeInventory, now: t.clock.now() }).statuses[0]?.channels.release,
    ).toEqual({
      build: homeInventory.vendorImages.get("ubuntu")?.[0]?.name,
      images: { "us-east-1": parameters[0]!.value },
    });
  });
});
