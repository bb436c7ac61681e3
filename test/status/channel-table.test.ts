import { describe, expect, it } from "vitest";
import type { SpecStatus } from "../../controller/plan/status.ts";
import { renderChannelMatrix } from "../../controller/status/channel-table.ts";

function spec(
  name: string,
  layer: SpecStatus["layer"],
  channels: SpecStatus["channels"],
  phase: SpecStatus["phase"] = "Ready",
): SpecStatus {
  return { name, layer, phase, message: "", channels, builds: [] };
}

const regions = new Map<string, readonly string[]>([
  ["ubuntu-jammy", ["us-east-1", "eu-west-1"]],
  ["api", ["us-east-1", "eu-west-1"]],
  ["web", ["us-east-1", "eu-west-1", "ap-southeast-2"]],
]);

describe("renderChannelMatrix: apply's table, a row per spec and a column per channel", () => {
  it("gives each channel's build and its regions with an image; ✓ only when every region has one", () => {
    const text = renderChannelMatrix(
      [
        spec("ubuntu-jammy", "foundation", {
          release: {
            build: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261109",
            images: { "us-east-1": "ami-1", "eu-west-1": "ami-2" },
          },
        }),
        spec("api", "app", {
          candidate: { build: "1.15.0+aaaaaaaa", images: { "us-east-1": "ami-3" } },
          release: { build: "1.14.2+bbbbbbbb", images: { "us-east-1": "ami-4", "eu-west-1": "ami-5" } },
        }),
        spec(
          "web",
          "app",
          {
            release: { images: {}, message: "no build admitted" },
            stable: { build: "3.1.0+cccccccc", images: {} },
          },
          "Waiting",
        ),
      ],
      regions,
      new Map([["ubuntu-jammy", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"]]),
    );
    expect(text).toBe(
      [
        "SPEC          release                        candidate            stable",
        "------------  -----------------------------  -------------------  ------------------",
        "ubuntu-jammy  ubuntu/images/…-20261109 ✓2/2  -                    -",
        "api           1.14.2+bbbbbbbb ✓2/2           1.15.0+aaaaaaaa 1/2  -",
        "web           -                              -                    3.1.0+cccccccc 0/3",
        "",
      ].join("\n"),
    );
  });

  it("says so when no spec has a channel", () => {
    expect(renderChannelMatrix([spec("broken", "unknown", {}, "Blocked")], new Map())).toBe(
      "SPEC    CHANNELS\n------  --------\nbroken  -\n",
    );
  });
});
