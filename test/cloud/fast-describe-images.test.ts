// Leaven's DescribeImages scanner (controller/cloud/fast-describe-images.ts) against the SDK's own
// deserialiser: the same output on a recorded EC2 page (entities, empty and self-closing elements, block
// device mappings, state reasons, a next token), on pages the simulator serves (tags with every character
// XML escapes, deprecated, disabled and pending images, paging), and the same errors — error documents are
// the SDK's to read.
import { readFileSync } from "node:fs";
import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { FastEc2QueryProtocol, parseDescribeImages } from "../../controller/cloud/fast-describe-images.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { type Ec2TestServer, ec2Error, startEc2TestServer } from "./ec2-test-server.ts";

const recorded = readFileSync(new URL("../fixtures/ec2/describe-images.xml", import.meta.url), "utf8");
const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "test" };

function clients(endpoint: string) {
  const config = { region: "us-east-1", endpoint, credentials, maxAttempts: 1 };
  return { sdk: new EC2Client(config), fast: new EC2Client({ ...config, protocol: FastEc2QueryProtocol }) };
}

let server: Ec2TestServer | undefined;
let sim: SimCloud | undefined;
afterEach(async () => {
  await server?.close();
  await sim?.close();
  server = undefined;
  sim = undefined;
});

describe("the DescribeImages scanner", () => {
  it("reads a recorded EC2 page exactly as the SDK does", async () => {
    server = await startEc2TestServer();
    server.reply("DescribeImages", { body: recorded }, { body: recorded });
    const { sdk, fast } = clients(server.endpoint);
    const expected = await sdk.send(new DescribeImagesCommand({ Owners: ["self"] }));
    const actual = await fast.send(new DescribeImagesCommand({ Owners: ["self"] }));
    expect(actual.Images).toEqual(expected.Images);
    expect(actual.NextToken).toBe(expected.NextToken);
    // The scanner itself read it (not a fall-back to the SDK).
    expect(parseDescribeImages(recorded)).toEqual({ Images: expected.Images, NextToken: expected.NextToken });
    expect(actual.$metadata.httpStatusCode).toBe(200);
    expect(actual.Images?.[0]?.Description).toBe('Leaven & friends: <base> "1.0.0" ✓ café');
  });

  it("leaves error documents to the SDK: the same error, code and message", async () => {
    server = await startEc2TestServer();
    const refusal = ec2Error(400, "InvalidParameterValue", "The filter 'nope' is invalid");
    server.reply("DescribeImages", refusal, refusal);
    const { sdk, fast } = clients(server.endpoint);
    const errorOf = (client: EC2Client) =>
      client.send(new DescribeImagesCommand({})).then(
        () => undefined,
        (error: Error & { Code?: string; $metadata?: unknown }) => ({
          name: error.name,
          message: error.message,
          status: (error.$metadata as { httpStatusCode?: number } | undefined)?.httpStatusCode,
        }),
      );
    const expected = await errorOf(sdk);
    expect(expected).toMatchObject({ name: "InvalidParameterValue", status: 400 });
    expect(await errorOf(fast)).toEqual(expected);
  });

  it("hands a document it does not know back to the SDK", () => {
    expect(parseDescribeImages("<DescribeInstancesResponse/>")).toBeUndefined();
    expect(
      parseDescribeImages("<DescribeImagesResponse><![CDATA[x]]></DescribeImagesResponse>"),
    ).toBeUndefined();
    expect(parseDescribeImages("<DescribeImagesResponse><imagesSet>")).toBeUndefined();
  });

  it("maps the simulator's pages to the same images, page by page, as the SDK's deserialiser", async () => {
    sim = await startSimCloud();
    const tricky = ["a & b", "<tag>", "\"quoted\" 'single'", "ünïcødé ✓", "", "tab\tand space"];
    sim.sim.seedImages(
      Array.from({ length: 2500 }, (_, i) => ({
        region: "us-east-1",
        name: `leaven/base/${i}`,
        description: tricky[i % tricky.length]!,
        tags: {
          [Tag.managedBy]: MANAGED_BY_VALUE,
          [Tag.spec]: "base",
          [Tag.build]: `1.0.${i}+0000abcd`,
          note: tricky[(i + 1) % tricky.length]!,
        },
        ...(i % 7 === 0 ? { deprecationTime: sim!.clock.now() - 60_000 } : {}),
        withSnapshot: i % 3 !== 0,
      })),
    );
    const options = {
      endpoint: sim.sim.endpoint,
      credentials,
      clock: sim.clock,
    };
    const withSdk = createAwsCloud({ ...options, fastDescribeImages: false });
    const withScanner = createAwsCloud(options);
    try {
      const input = { owners: ["self"], includeDeprecated: true, includeDisabled: true };
      const expected = await withSdk.describeImages("us-east-1", input);
      const actual = await withScanner.describeImages("us-east-1", input);
      expect(expected).toHaveLength(2500);
      expect(actual).toEqual(expected);
      // Three pages each way.
      expect(withScanner.stats().byRegion["us-east-1"]?.byAction.DescribeImages?.requests).toBe(3);
    } finally {
      withSdk.close();
      withScanner.close();
    }
  });
});
