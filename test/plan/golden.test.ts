// Golden identifiers. Every string here is a literal, computed once and pasted; where a comment gives the
// hashed input, the value was also checked with `sha256sum` of that input. Recipe hashes, build ids, image
// names, ClientTokens and share hashes are stored in the tags and tokens of every image and instance
// Leaven has made. If one of these tests fails, the derivation changed: every estate would rebake and an
// interrupted run would launch duplicates instead of resuming. Read "Identifiers are a contract" in
// docs/architecture.md before updating a literal here; never compute the expected value with the
// production function.
import { describe, expect, it } from "vitest";
import { failureRecordName, failureRecordToken } from "../../controller/api/failure-record.ts";
import { Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { shareHash } from "../../controller/plan/distribute.ts";
import { plan } from "../../controller/plan/plan.ts";
import {
  buildIdFor,
  canonicalJson,
  copyToken,
  imageNameFor,
  launchToken,
  rebakeAttempt,
  recipeHash,
  relaunchToken,
} from "../../controller/plan/recipe.ts";
import { bakeInstance, inventory, leavenImage, MIN, spec, T0, ubuntu } from "./builders.ts";

// A spec that sets every recipe input and every non-recipe bake setting.
const REFERENCE: ImageSpecSpec = {
  layer: "base",
  parent: { spec: "ubuntu", channel: "release" },
  version: "2.3.0",
  provision: {
    packages: ["acme-base=2.3.0", "curl"],
    repositories: [
      {
        name: "acme",
        url: "https://repo.acme.example/apt",
        distribution: "jammy",
        components: ["main"],
        gpgKey: "https://repo.acme.example/key.gpg",
      },
    ],
    files: [{ path: "/etc/acme.conf", content: "level=1\n", mode: "0644", owner: "root:root" }],
    script: "systemctl enable acme\n",
  },
  bake: { rootVolume: { size: 16, type: "gp3" }, instanceType: "t3.medium", timeout: "30m" },
  regions: ["us-east-1", "eu-west-1"],
  channels: { candidate: { latest: true } },
};
const REFERENCE_HASH = "2b269f73663876a4";

const withProvision = (provision: ImageSpecSpec["provision"]): ImageSpecSpec => ({ ...REFERENCE, provision });
const withBake = (bake: ImageSpecSpec["bake"]): ImageSpecSpec => ({ ...REFERENCE, bake });
const provision = REFERENCE.provision!;
const bake = REFERENCE.bake!;

describe("recipeHash", () => {
  it("of the reference spec", () => {
    expect(recipeHash(REFERENCE)).toBe(REFERENCE_HASH);
  });

  it.each<[string, ImageSpecSpec, string]>([
    ["version", { ...REFERENCE, version: "2.3.1" }, "3ff6e3ac380bdc60"],
    [
      "a package added",
      withProvision({ ...provision, packages: ["acme-base=2.3.0", "curl", "jq"] }),
      "1c670c51872a3905",
    ],
    [
      "packages reordered",
      withProvision({ ...provision, packages: ["curl", "acme-base=2.3.0"] }),
      "bbb6beafbcb5c68a",
    ],
    [
      "a package pin",
      withProvision({ ...provision, packages: ["acme-base=2.3.1", "curl"] }),
      "d68e5643d2740572",
    ],
    [
      "the script",
      withProvision({ ...provision, script: "systemctl enable acme\nsystemctl start acme\n" }),
      "d4820dc653e90fe8",
    ],
    [
      "a file's content",
      withProvision({
        ...provision,
        files: [{ path: "/etc/acme.conf", content: "level=2\n", mode: "0644", owner: "root:root" }],
      }),
      "789555474b92200e",
    ],
    [
      "a file's mode",
      withProvision({
        ...provision,
        files: [{ path: "/etc/acme.conf", content: "level=1\n", mode: "0600", owner: "root:root" }],
      }),
      "239399c92275b035",
    ],
    [
      "a repository",
      withProvision({
        ...provision,
        repositories: [{ ...provision.repositories![0]!, components: ["main", "extra"] }],
      }),
      "ffa7115c3bb85270",
    ],
    ["no provision at all", withProvision(undefined), "98a1f8ea53158d49"],
    [
      "the root volume size",
      withBake({ ...bake, rootVolume: { size: 32, type: "gp3" } }),
      "c5467451b2aaf09d",
    ],
    [
      "the root volume type",
      withBake({ ...bake, rootVolume: { size: 16, type: "gp2" } }),
      "0b4b65164410c463",
    ],
    ["no root volume", withBake({ instanceType: "t3.medium", timeout: "30m" }), "4e531fbfcc5b23f6"],
  ])("changes with %s", (_name, changed, expected) => {
    expect(recipeHash(changed)).toBe(expected);
    expect(expected).not.toBe(REFERENCE_HASH);
  });

  it.each<[string, ImageSpecSpec]>([
    ["the instance type", withBake({ ...bake, instanceType: "c7i.4xlarge" })],
    ["the subnet", withBake({ ...bake, subnetId: "subnet-0abc" })],
    ["the security groups", withBake({ ...bake, securityGroupIds: ["sg-1", "sg-2"] })],
    ["the bake timeout", withBake({ ...bake, timeout: "2h" })],
    ["the instance profile", withBake({ ...bake, instanceProfile: "leaven-bake" })],
    ["the regions", { ...REFERENCE, regions: ["eu-west-1", "us-east-1", "ap-southeast-2"] }],
    ["the channels", { ...REFERENCE, channels: { release: { build: "2.2.0+0000aaaa" } } }],
    [
      "the parent (it enters the build id, not the recipe)",
      { ...REFERENCE, parent: { spec: "al2023", channel: "x" } },
    ],
    ["sharing", { ...REFERENCE, share: { accounts: ["111122223333"] } }],
    [
      "the order of keys",
      Object.fromEntries(Object.entries(REFERENCE).reverse()) as unknown as ImageSpecSpec,
    ],
  ])("does not change with %s", (_name, changed) => {
    expect(recipeHash(changed)).toBe(REFERENCE_HASH);
  });

  it("treats absent provision and root volume like empty ones", () => {
    // sha256('{"provision":{},"rootVolume":{},"version":"1.0.0"}')[0:16]
    const minimal: ImageSpecSpec = { layer: "base", regions: ["us-east-1"], version: "1.0.0" };
    expect(recipeHash(minimal)).toBe("73be10a4f8e15fd5");
    expect(recipeHash({ ...minimal, provision: {}, bake: { rootVolume: {} } })).toBe("73be10a4f8e15fd5");
  });
});

describe("buildIdFor", () => {
  it.each([
    // spec, version, recipe hash, parent build, build id = VERSION+sha256("spec\nrecipe\nparent")[0:8]
    ["api", "1.4.2", "0123456789abcdef", "2.3.0+1a2b3c4d", "1.4.2+9f68170a"],
    ["base", "2.3.0", REFERENCE_HASH, "ubuntu/images/jammy-20260301", "2.3.0+335ccc98"],
    ["base", "2.3.0", REFERENCE_HASH, "ubuntu/images/jammy-20260101", "2.3.0+fe8fd679"],
    ["base-fips", "2.3.0", REFERENCE_HASH, "ubuntu/images/jammy-20260301", "2.3.0+91b4c723"],
  ])("%s %s recipe %s on %s is %s", (specName, version, recipe, parent, expected) => {
    expect(buildIdFor(specName, version, recipe, parent)).toBe(expected);
  });
});

describe("imageNameFor", () => {
  it.each([
    ["api", "1.4.2+1a2b3c4d", "leaven/api/1.4.2_1a2b3c4d"],
    ["base", "2.3.0-rc.1+89d19345", "leaven/base/2.3.0-rc.1_89d19345"],
  ])("%s build %s is named %s", (specName, buildId, expected) => {
    expect(imageNameFor(specName, buildId)).toBe(expected);
  });
});

describe("ClientTokens", () => {
  it.each([
    // build id, attempt, token = leaven-bake-sha256("build#attempt")[0:40]
    ["1.4.2+1a2b3c4d", "0", "leaven-bake-effd387db86cd8894256e0efe86a8ceb4c7544dc"],
    ["1.4.2+1a2b3c4d", "retry-1780272000000", "leaven-bake-7ba0c5db2b73b64bcec128709a8e431c69d24d25"],
  ])("launchToken(%s, %s) is %s", (buildId, attempt, expected) => {
    expect(launchToken(buildId, attempt)).toBe(expected);
    expect(expected.length).toBeLessThanOrEqual(64); // EC2's ClientToken limit
  });

  it.each([
    // build id, spec, region, token = leaven-copy-sha256("spec/build/region")[0:40]
    ["1.4.2+1a2b3c4d", "api", "eu-west-1", "leaven-copy-894fa7b90310c2c30e87edb2e58400ededd424b7"],
    ["1.4.2+1a2b3c4d", "api", "ap-southeast-2", "leaven-copy-f9cd528c54a4aa805907251cd267e6a495f577ac"],
  ])("copyToken(%s, %s, %s) is %s", (buildId, specName, region, expected) => {
    expect(copyToken(buildId, specName, region)).toBe(expected);
    expect(expected.length).toBeLessThanOrEqual(64);
  });

  // Drift repair: a copy observed gone, or a rebaked home image, gives the next copy a new generation.
  it.each([
    // leaven-copy-sha256("spec/build/region/after-<dead ids, sorted, comma-separated>")[0:40]
    [{ deadCopies: ["ami-0bbb", "ami-0aaa"] }, "leaven-copy-c9cbbbbee74f5ef6c8ff579d23a06fad3ae25e51"],
    // leaven-copy-sha256("spec/build/region/from-<rebaked home image>")[0:40]
    [{ rebakedSource: "ami-0ccc" }, "leaven-copy-36034d918de68a70404516c86897ae62c217e5c4"],
  ])("copyToken of generation %j is %s", (generation, expected) => {
    expect(copyToken("1.14.2+5f2c91ab", "api-server", "eu-west-1", generation)).toBe(expected);
  });

  it("a rebake's launch token derives from the dead home images; a relaunch's from the terminated instance", () => {
    // leaven-bake-sha256("build#after-<dead ids, sorted>")[0:40]
    expect(launchToken("1.14.2+5f2c91ab", rebakeAttempt(["ami-0bbb", "ami-0aaa"]))).toBe(
      "leaven-bake-7e690d485ee7a4f2dff6197420e84396b355311c",
    );
    // leaven-bake-sha256("<refused token>#after-<instance>")[0:40]
    expect(relaunchToken("leaven-bake-x", "i-0abc")).toBe(
      "leaven-bake-3bf4565b0ffe5eb1540d8106f67b14d1772df168",
    );
  });
});

describe("failure records", () => {
  it.each([
    // spec, build id, name = leaven-failed-<spec>-<build with + as _>
    ["base", "2.3.0+0badcafe", "leaven-failed-base-2.3.0_0badcafe"],
    ["api", "1.4.2-rc.1+1a2b3c4d", "leaven-failed-api-1.4.2-rc.1_1a2b3c4d"],
    // over 128 characters: leaven-failed-<spec>- + sha256(build)[0:16]
    ["base", `2.3.0-${"a".repeat(110)}+0badcafe`, "leaven-failed-base-db26ccd98734b1a2"],
  ])("failureRecordName(%s, %s) is %s", (specName, buildId, expected) => {
    expect(failureRecordName(specName, buildId)).toBe(expected);
  });

  it("failureRecordToken is leaven-failure-sha256(spec/build/instance)[0:40]", () => {
    expect(failureRecordToken("base", "2.3.0+0badcafe", "i-0123456789abcdef0")).toBe(
      "leaven-failure-8b1f5c411752ab45640497f2c6275c3f473a468d",
    );
  });
});

describe("shareHash", () => {
  const shared = (share: ImageSpecSpec["share"]) =>
    spec("api", { layer: "app", version: "1.0.0", ...(share ? { share } : {}) }).document;
  const org = "arn:aws:organizations::111122223333:organization/o-abc123";
  const ou = "arn:aws:organizations::111122223333:ou/o-abc123/ou-ab12-cdef3456";

  it.each<[string, ImageSpecSpec["share"], string]>([
    // sha256(canonicalJson({accounts, organizationArns, organizationalUnitArns} each sorted, plus
    // snapshots: true only when set))[0:12]
    ["two accounts", { accounts: ["111122223333", "444455556666"] }, "2b1b61014d92"],
    ["the same accounts in another order", { accounts: ["444455556666", "111122223333"] }, "2b1b61014d92"],
    [
      "KMS keys (they do not change who may launch)",
      {
        accounts: ["111122223333", "444455556666"],
        kmsKeys: { "eu-west-1": "arn:aws:kms:eu-west-1:1:key/k" },
      },
      "2b1b61014d92",
    ],
    ["an organization", { organizationArns: [org] }, "b1a4f74fcc6c"],
    ["an organizational unit", { organizationalUnitArns: [ou] }, "7cff80a0d045"],
    [
      "all three",
      { accounts: ["111122223333"], organizationArns: [org], organizationalUnitArns: [ou] },
      "5819666239f7",
    ],
    // Sharing with nobody: {"accounts":[],"organizationArns":[],"organizationalUnitArns":[]}
    ["no share", undefined, "29083c46fe4e"],
    ["an empty share", {}, "29083c46fe4e"],
    ["only KMS keys", { accounts: [], kmsKeys: { "eu-west-1": "k" } }, "29083c46fe4e"],
    [
      "snapshots: false (the default)",
      { accounts: ["111122223333", "444455556666"], snapshots: false },
      "2b1b61014d92",
    ],
    // {"accounts":["111122223333"],"organizationArns":[],"organizationalUnitArns":[],"snapshots":true}
    ["snapshots: true", { accounts: ["111122223333"], snapshots: true }, "87c8192bb813"],
  ])("%s: %s", (_name, share, expected) => {
    expect(shareHash(shared(share))).toBe(expected);
  });
});

describe("canonicalJson", () => {
  it.each<[string, unknown, string]>([
    [
      "sorts keys by code unit at every depth and drops undefined",
      { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, A: true, é: "x", "10": 1, "9": 2, u: undefined },
      '{"10":1,"9":2,"A":true,"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1,"é":"x"}',
    ],
    ["keeps array order", ["b", "a"], '["b","a"]'],
    ["escapes strings as JSON does", 'line\n"quoted" é', '"line\\n\\"quoted\\" é"'],
    ["null", null, "null"],
    ["a number", 1.5, "1.5"],
    ["a boolean", false, "false"],
    ["empty containers", [[], {}, ""], '[[],{},""]'],
  ])("%s", (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });
});

describe("identifiers in planned actions", () => {
  // The planner test's base spec, with a root volume: recipe sha256 of
  // {"provision":{"packages":["acme-base=2.3.0"]},"rootVolume":{"size":16,"type":"gp3"},"version":"2.3.0"}.
  const base = spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.3.0",
    provision: { packages: ["acme-base=2.3.0"] },
    bake: { timeout: "30m", rootVolume: { size: 16, type: "gp3" } },
    regions: ["us-east-1", "eu-west-1"],
    channels: { candidate: { latest: true } },
  });
  const BUILD = "2.3.0+89d19345";
  const RECIPE = "0871a5be6f6b03e7";
  const only = <K extends Action["kind"]>(actions: Action[], kind: K): Extract<Action, { kind: K }> => {
    expect(actions.map((a) => a.kind)).toEqual([kind]);
    return actions[0] as Extract<Action, { kind: K }>;
  };

  it("a first launch carries the build id, the recipe and attempt 0's ClientToken", () => {
    const p = plan({ specs: [ubuntu, base], inventory: inventory(), now: T0 });
    const launch = only(p.actions, "launch-bake");
    expect(launch.build).toBe(BUILD);
    expect(launch.launch.clientToken).toBe("leaven-bake-cc19bc764d7ad9ded4435633926ade6960116274");
    expect(launch.launch.tags).toMatchObject({
      [Tag.build]: BUILD,
      [Tag.recipe]: RECIPE,
      [Tag.version]: "2.3.0",
    });
    expect(launch.launch.userData).toContain("LEAVEN_BUILD_ID=2.3.0+89d19345\n");
    expect(launch.launch.rootVolume).toEqual({ deviceName: "/dev/sda1", size: 16, type: "gp3" });
  });

  it("a retried launch keeps the build id and gets the ClientToken of attempt retry-<now>", () => {
    const failed = bakeInstance("us-east-1", "base", BUILD, "terminated", {
      tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "bake script failed: boom" },
    });
    const p = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [failed] }),
      now: T0 + 60 * MIN, // 1780275600000
      retry: new Set(["base"]),
    });
    const launch = only(p.actions, "launch-bake");
    expect(launch.build).toBe(BUILD);
    expect(launch.launch.clientToken).toBe("leaven-bake-5ade2e10901042298e2aa249dd829eafd61251c6");
  });

  it("the image is created under the deterministic name", () => {
    // The verdict already recorded on the instance (the console pass also tags it, see bake.test.ts).
    const instance = bakeInstance("us-east-1", "base", BUILD, "stopped", {
      id: "i-done",
      tags: { [Tag.bakeResult]: "success" },
    });
    const p = plan({ specs: [ubuntu, base], inventory: inventory({ instances: [instance] }), now: T0 });
    const create = only(p.actions, "create-image");
    expect(create.build).toBe(BUILD);
    expect(create.image.name).toBe("leaven/base/2.3.0_89d19345");
    expect(create.image.tags).toMatchObject({ [Tag.build]: BUILD, [Tag.recipe]: RECIPE });
  });

  it("a copy carries the build id, the image name and the copy ClientToken", () => {
    const home = leavenImage("us-east-1", "base", BUILD, { id: "ami-home" });
    const p = plan({ specs: [ubuntu, base], inventory: inventory({ images: [home] }), now: T0 });
    const copy = only(p.actions, "copy-image");
    expect(copy.build).toBe(BUILD);
    expect(copy.region).toBe("eu-west-1");
    expect(copy.copy.name).toBe("leaven/base/2.3.0_89d19345");
    expect(copy.copy.clientToken).toBe("leaven-copy-0bfa3c641e7447ae790ff2b23aa6febdd54d0552");
  });
});
