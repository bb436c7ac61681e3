import { describe, expect, it } from "vitest";
import {
  fitToWidth,
  fitWithWhere,
  flowItems,
  globMatches,
  shortVendorName,
  truncateAtWord,
  vendorPatternsOf,
  wrapWords,
} from "../../controller/status/fit-text.ts";
import { spec } from "../plan/builders.ts";

const UBUNTU = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*";
const AL2023 = "al2023-ami-2023.*-kernel-6.1-x86_64";

describe("shortVendorName", () => {
  it.each([
    ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120", UBUNTU, "ubuntu/images/…-20261120"],
    ["al2023-ami-2023.6.20261113.0-kernel-6.1-x86_64", AL2023, "…-2023.6.20261113.0…"],
    ["debian-12-amd64-20260101-1645", "debian-12-amd64-*", "…-20260101-1645"],
    // No pattern, no wildcard, no match, or nothing to elide: the name as it is.
    [
      "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120",
      undefined,
      "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120",
    ],
    ["my-image-1", "my-image-1", "my-image-1"],
    ["other/images/x-1", UBUNTU, "other/images/x-1"],
    ["20261120", "*", "20261120"],
  ])("%s under %s → %s", (name, pattern, expected) => {
    expect(shortVendorName(name, pattern)).toBe(expected);
  });
});

describe("globMatches", () => {
  it.each([
    ["ubuntu/images/a-1", "ubuntu/images/*", true],
    ["ubuntu/images/a-1", "ubuntu/images/?-1", true],
    ["ubuntu/images/ab-1", "ubuntu/images/?-1", false],
    ["a.b", "a?b", true],
    ["axb", "a.b", false],
    ["(x)+[y]", "(x)+[*]", true],
  ])("%s against %s: %s", (name, pattern, expected) => {
    expect(globMatches(name, pattern)).toBe(expected);
  });
});

describe("truncateAtWord", () => {
  it.each([
    ["short enough", 20, "short enough"],
    ["exactly twelve", 14, "exactly twelve"],
    ["build 2.0.3+c649a0ac failed: bake script failed", 30, "build 2.0.3+c649a0ac failed…"],
    ["waiting for base/release; channel candidate: no build", 27, "waiting for base/release…"],
    ["averyveryverylongwordwithoutspaces and more", 12, "averyveryve…"],
    ["a b", 1, "…"],
    ["the last word fits exactly here", 19, "the last word fits…"],
  ])("%j at %i → %j", (text, width, expected) => {
    const cut = truncateAtWord(text, width);
    expect(cut).toBe(expected);
    expect(cut.length).toBeLessThanOrEqual(width);
  });
});

describe("wrapWords", () => {
  it.each([
    ["fits on one line", 20, ["fits on one line"]],
    [
      "Cannot observe eu-west-1: no AWS credentials — pass --profile.",
      26,
      ["Cannot observe eu-west-1:", "no AWS credentials — pass", "--profile."],
    ],
    ["a  b\n c", 3, ["a b", "c"]],
    ["x averyveryverylongword y", 8, ["x", "averyver", "yverylon", "gword y"]],
    ["", 10, [""]],
  ])("%j in %i columns", (text, width, expected) => {
    const lines = wrapWords(text, width);
    expect(lines).toEqual(expected);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(width);
  });
});

describe("flowItems", () => {
  it.each([
    [["a 1", "b 2"], 20, ["a 1  b 2"]],
    [
      ["candidate 1.0.0+aaaaaaaa", "release 0.9.0+bbbbbbbb"],
      40,
      ["candidate 1.0.0+aaaaaaaa", "release 0.9.0+bbbbbbbb"],
    ],
    [["one", "two", "three"], 8, ["one  two", "three"]],
    [["a name far too long for the column"], 12, ["a name far…"]],
    [[], 10, [""]],
  ])("%j in %i columns", (items, width, expected) => {
    expect(flowItems(items, width, "  ")).toEqual(expected);
  });
});

describe("vendorPatternsOf", () => {
  it("takes each foundation's source name pattern and nothing else", () => {
    const patterns = vendorPatternsOf([
      spec("ubuntu", { layer: "foundation", source: { owners: ["099720109477"], name: UBUNTU } }),
      spec("ssm", { layer: "foundation", source: { ssmParameter: "/aws/service/x" } }),
      spec("base", { layer: "base", parent: { spec: "ubuntu", channel: "release" } }),
    ]);
    expect([...patterns]).toEqual([["ubuntu", UBUNTU]]);
  });
});

describe("fitWithWhere", () => {
  const aws = "on AWS account 111122223333 / profile images-admin";

  it("keeps headline and cloud on one line when it fits", () => {
    expect(fitWithWhere("The images match the specs.", "on the embedded simulator — not AWS", 79)).toEqual([
      "The images match the specs; on the embedded simulator — not AWS.",
    ]);
  });

  it("gives the cloud the last line of its own when both do not fit, and wraps a long headline", () => {
    const lines = fitWithWhere(
      "3 specs failed: ledger, payments, web-frontend; 2 specs blocked: order-worker, api-server.",
      aws,
      79,
    );
    expect(lines).toEqual([
      "3 specs failed: ledger, payments, web-frontend; 2 specs blocked: order-worker,",
      "  api-server.",
      "On AWS account 111122223333 / profile images-admin.",
    ]);
    for (const line of lines) expect(line.length).toBeLessThan(80);
  });
});

describe("fitToWidth", () => {
  it("wraps a long line at words under its last column, or two past its indent", () => {
    const text = [
      "  + bake         us-east-1      2.3.0+02f849ac on ami-3fd640719defc49aa (t3.medium, root volume encrypted with arn:aws:kms:us-east-1:123456789012:key/0a1b)",
      "       because no image of build 1.8.1+d4beb096 exists (recipe b697f480 on al2023/release = al2023-ami-2023.6)",
      "short",
    ].join("\n");
    expect(fitToWidth(text, 79).split("\n")).toEqual([
      "  + bake         us-east-1      2.3.0+02f849ac on ami-3fd640719defc49aa",
      "                                (t3.medium, root volume encrypted with",
      "                                arn:aws:kms:us-east-1:123456789012:key/0a1b)",
      "       because no image of build 1.8.1+d4beb096 exists (recipe b697f480 on",
      "         al2023/release = al2023-ami-2023.6)",
      "short",
    ]);
  });
});
