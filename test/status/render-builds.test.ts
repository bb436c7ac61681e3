import { describe, expect, it } from "vitest";
import type { BuildHistory, BuildRecord, ChainLink } from "../../controller/status/build-history.ts";
import { renderBuilds, renderChain } from "../../controller/status/render-builds.ts";

const UBUNTU = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*";
const JAMMY = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120";
const patterns = new Map([["ubuntu-jammy", UBUNTU]]);

function link(spec: string, build: string, extra: Partial<ChainLink> = {}): ChainLink {
  return { spec, build, foundation: false, observed: true, ...extra };
}

const vendor = link("ubuntu-jammy", JAMMY, { foundation: true });

function record(build: string, fields: Partial<BuildRecord> = {}): BuildRecord {
  return {
    spec: "api-server",
    build,
    created: "2026-11-21T10:02:33.000Z",
    homeRegion: "us-east-1",
    regions: [
      { region: "us-east-1", state: "available", imageId: "ami-1", channels: [] },
      { region: "eu-west-1", state: "available", imageId: "ami-2", channels: [] },
    ],
    channels: [],
    chain: [link("api-server", build), link("ubuntu-base", "2.3.1+5f2c91ab"), vendor],
    ...fields,
  };
}

describe("renderChain", () => {
  it.each([
    [
      [link("api-server", "1.14.2+ab12cd34"), link("ubuntu-base", "2.3.1+5f2c91ab"), vendor],
      "api-server 1.14.2+ab12cd34 ← ubuntu-base 2.3.1+5f2c91ab ← ubuntu-jammy ubuntu/images/…-20261120",
    ],
    [
      [link("api-server", "1.0.0+00000000"), link("ubuntu-base", "0.9.0+11111111", { observed: false })],
      "api-server 1.0.0+00000000 ← ubuntu-base 0.9.0+11111111 (no image left)",
    ],
    [[link("ubuntu-jammy", JAMMY, { foundation: true })], "ubuntu-jammy ubuntu/images/…-20261120"],
  ])("%#", (chain, expected) => {
    expect(renderChain(chain, patterns)).toBe(expected);
  });

  it("spells a vendor image out when no pattern is known", () => {
    expect(renderChain([vendor])).toBe(`ubuntu-jammy ${JAMMY}`);
  });
});

describe("renderBuilds", () => {
  it("renders every kind of build with its details under its row", () => {
    const tagged = (channels: string[]) => ({ channels });
    const history: BuildHistory = {
      spec: "api-server",
      layer: "app",
      regions: ["us-east-1", "eu-west-1"],
      builds: [
        record("1.15.0+0c0c0c0c", {
          created: "2026-11-22T08:00:00.000Z",
          regions: [
            { region: "us-east-1", state: "missing", channels: [] },
            { region: "eu-west-1", state: "missing", channels: [] },
          ],
          bake: { state: "failed", instanceId: "i-0f", reason: "bake script failed: exit 100" },
          failure: "bake script failed: exit 100",
          console: ["E: Unable to locate package acme-agent", "LEAVEN-BAKE-RESULT failure"],
          outdated: false,
        }),
        record("1.14.3+0b0b0b0b", {
          created: "2026-11-21T12:00:00.000Z",
          regions: [
            { region: "us-east-1", state: "available", imageId: "ami-3", ...tagged(["candidate"]) },
            { region: "eu-west-1", state: "pending", imageId: "ami-4", channels: [] },
          ],
          channels: ["candidate"],
          outdated: false,
        }),
        record("1.14.2+ab12cd34", {
          regions: [
            { region: "us-east-1", state: "available", imageId: "ami-1", ...tagged(["release"]) },
            { region: "eu-west-1", state: "available", imageId: "ami-2", ...tagged(["release"]) },
          ],
          channels: ["release"],
          parent: { spec: "ubuntu-base", channel: "candidate", build: "2.3.1+5f2c91ab" },
          outdated: true,
          parentChannelNow: "2.4.0+9a9a9a9a",
          revokedParent: "ubuntu-base/2.3.1+5f2c91ab",
        }),
        record("1.14.1+0a0a0a0a", {
          created: "2026-10-01T00:00:00.000Z",
          regions: [
            { region: "us-east-1", state: "deprecated", imageId: "ami-5", channels: [] },
            { region: "eu-west-1", state: "deprecated", imageId: "ami-6", channels: [] },
          ],
          revoked: "CVE-2026-1234",
        }),
      ],
    };
    expect(renderBuilds(history, { vendorPatterns: patterns })).toBe(
      `Builds of api-server (app) in us-east-1, eu-west-1, newest first:

BUILD            CREATED (UTC)     REGIONS        CHANNELS         PARENT
1.15.0+0c0c0c0c  2026-11-22 08:00  failed         -                current
    api-server 1.15.0+0c0c0c0c ← ubuntu-base 2.3.1+5f2c91ab
      ← ubuntu-jammy ubuntu/images/…-20261120
    failed: bake script failed: exit 100
    last console lines:
      E: Unable to locate package acme-agent
      LEAVEN-BAKE-RESULT failure
1.14.3+0b0b0b0b  2026-11-21 12:00  1/2 available  candidate (1/2)  current
    api-server 1.14.3+0b0b0b0b ← ubuntu-base 2.3.1+5f2c91ab
      ← ubuntu-jammy ubuntu/images/…-20261120
    regions: us-east-1 available, eu-west-1 pending
1.14.2+ab12cd34  2026-11-21 10:02  available      release          outdated
    api-server 1.14.2+ab12cd34 ← ubuntu-base 2.3.1+5f2c91ab
      ← ubuntu-jammy ubuntu/images/…-20261120
    outdated: ubuntu-base/candidate is now 2.4.0+9a9a9a9a, not 2.3.1+5f2c91ab
    baked on revoked build ubuntu-base/2.3.1+5f2c91ab
1.14.1+0a0a0a0a  2026-10-01 00:00  deprecated     -                -
    api-server 1.14.1+0a0a0a0a ← ubuntu-base 2.3.1+5f2c91ab
      ← ubuntu-jammy ubuntu/images/…-20261120
    revoked: CVE-2026-1234
`,
    );
    // In 80 columns: the lineage breaks between links rather than where the terminal would cut it.
    for (const line of renderBuilds(history, { vendorPatterns: patterns }).split("\n"))
      expect(line.length, line).toBeLessThan(80);
  });

  it("says when a build is still baking or was abandoned", () => {
    const missing = [
      { region: "us-east-1", state: "missing" as const, channels: [] },
      { region: "eu-west-1", state: "missing" as const, channels: [] },
    ];
    const text = renderBuilds({
      spec: "api-server",
      layer: "app",
      regions: ["us-east-1", "eu-west-1"],
      builds: [
        record("1.15.1+0d0d0d0d", { regions: missing, bake: { state: "baking", instanceId: "i-0a" } }),
        record("1.15.0+0c0c0c0c", {
          regions: missing,
          bake: {
            state: "abandoned",
            instanceId: "i-0b",
            reason: "bake instance i-0b was terminated before an image was created",
          },
        }),
      ],
    });
    expect(text.split("\n").slice(3)).toEqual([
      "1.15.1+0d0d0d0d  2026-11-21 10:02  baking     -         -",
      "    api-server 1.15.1+0d0d0d0d ← ubuntu-base 2.3.1+5f2c91ab",
      `      ← ubuntu-jammy ${JAMMY}`,
      "    baking on i-0a",
      "1.15.0+0c0c0c0c  2026-11-21 10:02  abandoned  -         -",
      "    api-server 1.15.0+0c0c0c0c ← ubuntu-base 2.3.1+5f2c91ab",
      `      ← ubuntu-jammy ${JAMMY}`,
      "    abandoned: bake instance i-0b was terminated before an image was created",
      "",
    ]);
  });

  it("lists a foundation's vendor images shortened, spelled out under the row, without a PARENT column", () => {
    const text = renderBuilds(
      {
        spec: "ubuntu-jammy",
        layer: "foundation",
        regions: ["us-east-1"],
        builds: [
          {
            spec: "ubuntu-jammy",
            build: JAMMY,
            created: "2026-11-20T00:00:00.000Z",
            regions: [{ region: "us-east-1", state: "available", imageId: "ami-9", channels: ["candidate"] }],
            channels: ["candidate"],
            chain: [vendor],
          },
        ],
      },
      { vendorPatterns: patterns },
    );
    expect(text).toBe(
      `Builds of ubuntu-jammy (foundation) in us-east-1, newest first:

BUILD                     CREATED (UTC)     REGIONS    CHANNELS
ubuntu/images/…-20261120  2026-11-20 00:00  available  candidate
    ${JAMMY}
`,
    );
  });

  it("says so when nothing is observed", () => {
    expect(renderBuilds({ spec: "ledger", layer: "app", regions: ["us-east-1"], builds: [] })).toBe(
      "Builds of ledger (app) in us-east-1, newest first:\n\n  none observed.\n",
    );
  });
});

describe("renderBuilds with package manifests", () => {
  it("adds the package count and the changes from the previous build; builds without a manifest say -", () => {
    const history: BuildHistory = {
      spec: "api-server",
      layer: "app",
      regions: ["us-east-1", "eu-west-1"],
      builds: [
        record("1.14.3+cccccccc", { outdated: false, packages: { count: 214, changes: 3 } }),
        record("1.14.2+bbbbbbbb", { outdated: true, packages: { count: 212 } }),
        record("1.14.1+aaaaaaaa", { outdated: true }),
      ],
    };
    const rows = renderBuilds(history, { vendorPatterns: patterns })
      .split("\n")
      .filter((line) => !line.startsWith("    "));
    expect(rows.slice(2, 6)).toEqual([
      "BUILD            CREATED (UTC)     REGIONS    CHANNELS  PACKAGES  CHANGES  PARENT",
      "1.14.3+cccccccc  2026-11-21 10:02  available  -         214       3        current",
      "1.14.2+bbbbbbbb  2026-11-21 10:02  available  -         212       -        outdated",
      "1.14.1+aaaaaaaa  2026-11-21 10:02  available  -         -         -        outdated",
    ]);
  });

  it("has no package columns when no build has a manifest", () => {
    const history: BuildHistory = {
      spec: "api-server",
      layer: "app",
      regions: ["us-east-1"],
      builds: [record("1.14.3+cccccccc")],
    };
    expect(renderBuilds(history)).not.toContain("PACKAGES");
  });
});
