import { describe, expect, it } from "vitest";
import type { ChannelStatus, SpecStatus } from "../../controller/plan/status.ts";
import {
  channelGroups,
  phaseSummary,
  regionsReady,
  renderStatus,
  renderStatusWide,
  type StatusViewInput,
  statusToJson,
} from "../../controller/status/render-status.ts";

const UBUNTU = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*";
const AL2023 = "al2023-ami-2023.*-kernel-6.1-x86_64";
const TWO = ["us-east-1", "eu-west-1"];
const THREE = ["us-east-1", "eu-west-1", "ap-southeast-2"];

function channel(build: string | undefined, regions: readonly string[], message?: string): ChannelStatus {
  return {
    ...(build ? { build } : {}),
    images: Object.fromEntries(regions.map((r, i) => [r, `ami-${i}`])),
    ...(message ? { message } : {}),
  };
}

function status(
  name: string,
  layer: SpecStatus["layer"],
  phase: SpecStatus["phase"],
  channels: Record<string, ChannelStatus>,
  message = "",
): SpecStatus {
  return { name, layer, phase, message, channels, builds: [] };
}

/** The example estate's shape: two foundations, two bases, five apps, one of them failing. */
const estate: StatusViewInput = {
  statuses: [
    status("al2023", "foundation", "Ready", {
      candidate: channel("al2023-ami-2023.6.20261113.0-kernel-6.1-x86_64", THREE),
      release: channel("al2023-ami-2023.6.20261113.0-kernel-6.1-x86_64", THREE),
    }),
    status("ubuntu-jammy", "foundation", "Ready", {
      candidate: channel("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120", TWO),
      release: channel("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261030", TWO),
    }),
    status("al2023-base", "base", "Ready", {
      candidate: channel("1.8.1+4bdfc803", THREE),
      release: channel("1.8.1+4bdfc803", THREE),
    }),
    status(
      "ubuntu-base",
      "base",
      "Copying",
      { candidate: channel("2.4.0+b4fc6039", ["us-east-1"]), release: channel("2.3.0+21703aa7", TWO) },
      "2.4.0+b4fc6039: copying to eu-west-1 (1 pending)",
    ),
    status("api-server", "app", "Ready", {
      candidate: channel("1.14.2+bef7338b", TWO),
      release: channel("1.14.2+bef7338b", TWO),
    }),
    status(
      "ledger",
      "app",
      "Failed",
      {
        candidate: channel(undefined, [], "no ready build yet"),
        release: channel(undefined, [], "no ready build yet"),
      },
      "build 2.0.3+c649a0ac failed: bake script failed: provision script exited with status 1; channel candidate: no ready build yet; channel release: no ready build yet",
    ),
    status("order-worker", "app", "Ready", { release: channel("0.9.4+c1aa3f60", ["us-east-1"]) }),
    status(
      "payments",
      "app",
      "Suspended",
      { candidate: channel("5.1.0+4d003fd5", THREE), release: channel("5.0.9+0a1b2c3d", THREE) },
      "suspended: observed, not changed",
    ),
    status(
      "web-frontend",
      "unknown",
      "Blocked",
      {},
      "invalid spec: spec.version must match a semantic version",
    ),
  ],
  regions: new Map<string, readonly string[]>([
    ["al2023", THREE],
    ["ubuntu-jammy", TWO],
    ["al2023-base", THREE],
    ["ubuntu-base", TWO],
    ["api-server", TWO],
    ["ledger", TWO],
    ["order-worker", ["us-east-1"]],
    ["payments", THREE],
  ]),
  vendorPatterns: new Map([
    ["al2023", AL2023],
    ["ubuntu-jammy", UBUNTU],
  ]),
};

describe("renderStatus", () => {
  it("prints one row per spec with compact channels, and the message of a spec not Ready under it", () => {
    expect(renderStatus(estate)).toBe(
      `SPEC          PHASE      READY  CHANNELS
al2023        Ready      3/3    candidate,release …-2023.6.20261113.0…
ubuntu-jammy  Ready      2/2    candidate ubuntu/images/…-20261120
                                release ubuntu/images/…-20261030
al2023-base   Ready      3/3    candidate,release 1.8.1+4bdfc803
ubuntu-base   Copying    1/2    candidate 2.4.0+b4fc6039  release 2.3.0+21703aa7
  2.4.0+b4fc6039: copying to eu-west-1 (1 pending)
api-server    Ready      2/2    candidate,release 1.14.2+bef7338b
ledger        Failed     0/2    candidate,release -
  build 2.0.3+c649a0ac failed: bake script failed: provision script exited with…
order-worker  Ready      1/1    release 0.9.4+c1aa3f60
payments      Suspended  3/3    candidate 5.1.0+4d003fd5  release 5.0.9+0a1b2c3d
  suspended: observed, not changed
web-frontend  Blocked    -      -
  invalid spec: spec.version must match a semantic version

9 specs: 5 Ready, 1 Suspended, 1 Copying, 1 Failed, 1 Blocked.
`,
    );
  });

  it("keeps every line within 80 columns, whatever the names and messages", () => {
    const long: StatusViewInput = {
      statuses: [
        ...estate.statuses,
        status(
          "a-rather-long-application-name",
          "app",
          "Waiting",
          {
            candidate: channel("10.200.3000+abcdef01", TWO),
            beta: channel("10.199.0+abcdef02", TWO),
            release: channel("10.198.0+abcdef03", TWO),
            lts: channel("9.0.0+abcdef04", TWO),
          },
          "waiting for a-rather-long-base-name/release: ".repeat(5),
        ),
        status("vendor", "foundation", "Ready", { release: channel("x".repeat(120), TWO) }),
      ],
      regions: new Map([...estate.regions, ["a-rather-long-application-name", TWO]]),
    };
    const text = renderStatus(long);
    for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(text).toContain(
      [
        "a-rather-long-application-name  Waiting    2/2    candidate 10.200.3000+abcdef01",
        "                                                  beta 10.199.0+abcdef02",
      ].join("\n"),
    );
  });

  it("says where the statuses were observed on the summary line, wrapped within the width", () => {
    const where =
      "on AWS account 123456789012 as arn:aws:sts::123456789012:assumed-role/platform-deployer/ci";
    const text = renderStatus({ statuses: [estate.statuses[6]!], regions: estate.regions, where });
    expect(text.split("\n").slice(-3)).toEqual([
      "1 spec: 1 Ready; on AWS account 123456789012 as",
      "arn:aws:sts::123456789012:assumed-role/platform-deployer/ci.",
      "",
    ]);
  });

  it("ends with the verdict's problems, wrapped within the width", () => {
    const problems =
      "Cannot observe ap-southeast-2, eu-west-1, us-east-1: no AWS credentials (CredentialsProviderError: Could not load credentials from any providers) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile.";
    const text = renderStatus({ statuses: [estate.statuses[6]!], regions: estate.regions, problems });
    expect(text).toBe(
      `SPEC          PHASE  READY  CHANNELS
order-worker  Ready  1/1    release 0.9.4+c1aa3f60

1 spec: 1 Ready.
Cannot observe ap-southeast-2, eu-west-1, us-east-1: no AWS credentials
(CredentialsProviderError: Could not load credentials from any providers) —
configure the AWS SDK's default chain (environment, profile, SSO, instance role)
or pass --profile.
`,
    );
    expect(
      renderStatusWide({ statuses: [], regions: new Map(), problems }).trimEnd().split("\n").at(-1),
    ).toBe(problems);
  });

  it("renders an empty estate", () => {
    expect(renderStatus({ statuses: [], regions: new Map() })).toBe(
      "SPEC  PHASE  READY  CHANNELS\n\nNo specs.\n",
    );
  });
});

describe("regionsReady", () => {
  it.each([
    [
      "every channel everywhere",
      { a: channel("1", TWO), b: channel("2", TWO) },
      { ready: 2, total: 2, notReady: [] },
    ],
    [
      "one channel not copied yet",
      { a: channel("1", ["us-east-1"]), b: channel("2", TWO) },
      { ready: 1, total: 2, notReady: ["eu-west-1"] },
    ],
    [
      "a channel that resolves to nothing",
      { a: channel(undefined, []) },
      { ready: 0, total: 2, notReady: TWO },
    ],
    ["no channels known", {}, undefined],
  ])("%s", (_, channels, expected) => {
    expect(regionsReady(status("s", "app", "Ready", channels), TWO)).toEqual(expected);
  });
});

describe("channelGroups", () => {
  it("groups channels on the same build, in the spec's channel order", () => {
    const s = status("s", "app", "Ready", {
      candidate: channel("2", TWO),
      beta: channel("1", TWO),
      release: channel("1", TWO),
      broken: channel(undefined, []),
    });
    expect(channelGroups(s)).toEqual(["candidate 2", "beta,release 1", "broken -"]);
  });

  it("shortens vendor names only for foundations", () => {
    const name = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120";
    const patterns = new Map([["x", UBUNTU]]);
    expect(channelGroups(status("x", "foundation", "Ready", { r: channel(name, TWO) }), patterns)).toEqual([
      "r ubuntu/images/…-20261120",
    ]);
    expect(channelGroups(status("x", "app", "Ready", { r: channel(name, TWO) }), patterns)).toEqual([
      `r ${name}`,
    ]);
  });
});

describe("phaseSummary", () => {
  it.each([
    [[], "No specs."],
    [[status("a", "app", "Ready", {})], "1 spec: 1 Ready."],
    [
      [status("a", "app", "Failed", {}), status("b", "app", "Ready", {}), status("c", "app", "Baking", {})],
      "3 specs: 1 Ready, 1 Baking, 1 Failed.",
    ],
  ])("%#", (statuses, expected) => {
    expect(phaseSummary(statuses)).toBe(expected);
  });
});

describe("renderStatusWide", () => {
  it("prints the per-region channel table and every message in full", () => {
    const text = renderStatusWide({
      statuses: [estate.statuses[3]!, estate.statuses[5]!],
      regions: estate.regions,
    });
    expect(text).toBe(
      `SPEC         LAYER  CHANNEL    BUILD           REGION     IMAGE  STATUS
-----------  -----  ---------  --------------  ---------  -----  ------------------
ubuntu-base  base   candidate  2.4.0+b4fc6039  us-east-1  ami-0  Copying
ubuntu-base  base   release    2.3.0+21703aa7  us-east-1  ami-0  Copying
ubuntu-base  base   release    2.3.0+21703aa7  eu-west-1  ami-1  Copying
ledger       app    candidate  -               -          -      no ready build yet
ledger       app    release    -               -          -      no ready build yet

Specs not ready:
  ubuntu-base  Copying    2.4.0+b4fc6039: copying to eu-west-1 (1 pending)
  ledger       Failed     ${estate.statuses[5]!.message}

2 specs: 1 Copying, 1 Failed.
`,
    );
  });
});

describe("statusToJson", () => {
  it("adds each spec's regions ready to its status", () => {
    const json = statusToJson({
      statuses: [estate.statuses[3]!, estate.statuses[8]!],
      regions: estate.regions,
    }) as {
      specs: Record<string, unknown>[];
      summary: string;
    };
    expect(json.summary).toBe("2 specs: 1 Copying, 1 Blocked.");
    expect(json.specs[0]).toMatchObject({
      name: "ubuntu-base",
      phase: "Copying",
      regions: { ready: 1, total: 2, notReady: ["eu-west-1"] },
    });
    expect(json.specs[1]).not.toHaveProperty("regions");
  });
});
