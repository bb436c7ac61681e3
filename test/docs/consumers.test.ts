// docs/consumers.md's lookups, against the simulator after the examples converged: the Terraform data
// sources' filters and the AWS CLI lines are read from the page and sent with the SDK, as the owner account
// and as the account the payments images are shared with, so the page cannot name a tag, a parameter or a
// name pattern that finds nothing (or, across accounts, a tag that would find something).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DescribeImagesCommand, EC2Client, type Filter } from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIM_ACCOUNT_ID } from "../../controller/sim/regions.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { repoRoot, runCli, scratchEstate } from "../support/cli-process.ts";

const doc = readFileSync(join(repoRoot, "docs/consumers.md"), "utf8");
const otherAccounts = doc.indexOf("\n## In other accounts\n");
const OWNER = { accessKeyId: "AKIDOWNER", secretAccessKey: "owner" };
const CONSUMER = { accessKeyId: "AKIDCONSUMERPAYMENTS", secretAccessKey: "consumer" };

const blocks = (markdown: string, lang: string): string[] =>
  [...markdown.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, "gm"))].map((m) => m[1]!);

/** An `aws_ami` data source's owners and filters. */
function amiLookup(hcl: string): { owners: string[]; filters: Filter[] } {
  const owners = JSON.parse(/owners\s*=\s*(\[[^\]]*\])/.exec(hcl)![1]!) as string[];
  const filters = [...hcl.matchAll(/filter \{\s*name\s*=\s*"([^"]+)"\s*values\s*=\s*(\[[^\]]*\])\s*\}/g)].map(
    (m) => ({ Name: m[1]!, Values: JSON.parse(m[2]!) as string[] }),
  );
  return { owners, filters };
}

/** An `aws` command line as its words (quotes removed), continuation lines joined. */
function words(block: string): string[] {
  const line = block.replace(/\\\n\s*/g, " ").trim();
  return [...line.matchAll(/'[^']*'|"[^"]*"|\S+/g)].map((m) => m[0].replace(/^['"]|['"]$/g, ""));
}

/** `aws ec2 describe-images …` as the SDK's input, and its region. */
function describeImagesInput(block: string): {
  region: string;
  owners?: string[];
  executable?: string[];
  filters: Filter[];
} {
  const w = words(block);
  expect(w.slice(0, 3)).toEqual(["aws", "ec2", "describe-images"]);
  const after = (flag: string) => {
    const at = w.indexOf(flag);
    if (at < 0) return [];
    const values: string[] = [];
    for (let i = at + 1; i < w.length && !w[i]!.startsWith("--"); i++) values.push(w[i]!);
    return values;
  };
  const filters = after("--filters").map((f) => {
    const match = /^Name=([^,]+),Values=(.+)$/.exec(f)!;
    return { Name: match[1]!, Values: match[2]!.split(",") };
  });
  return {
    region: after("--region")[0]!,
    owners: after("--owners"),
    executable: after("--executable-users"),
    filters,
  };
}

let sim: Simulator;
const clients: { destroy(): void }[] = [];
const ec2 = (region: string, credentials = OWNER) => {
  const client = new EC2Client({ region, endpoint: sim.endpoint, credentials });
  clients.push(client);
  return client;
};
const ssm = (region: string) => {
  const client = new SSMClient({ region, endpoint: sim.endpoint, credentials: OWNER });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  const dir = scratchEstate();
  const statePath = join(dir, "sim.json");
  const applied = await runCli(["apply", "specs", "--sim-state", statePath, "--sim-speed", "600"], dir);
  expect(applied.code, applied.stdout.slice(-2000)).toBe(0);
  sim = await startSimulator({ statePath, speed: 1, throttle: false, awkward: true });
}, 120_000);
afterAll(async () => {
  for (const client of clients) client.destroy();
  await sim?.close();
});

describe("docs/consumers.md, in the owner account", () => {
  const owner = doc.slice(0, otherAccounts);

  it("names the account the simulator's images are in", () => {
    expect(doc).toMatch(new RegExp(`installed in account\\s+\`${SIM_ACCOUNT_ID}\``));
  });

  it("finds each region's release image of api-server by the data source's tags, the parameter's value", async () => {
    const [ami, parameter] = blocks(owner, "hcl");
    const { owners, filters } = amiLookup(ami!);
    expect(owners).toEqual(["self"]);
    const name = /name = "([^"]+)"/.exec(parameter!)![1]!;
    expect(name).toBe("/leaven/api-server/release");
    for (const region of ["us-east-1", "eu-west-1"]) {
      const found = await ec2(region).send(new DescribeImagesCommand({ Owners: owners, Filters: filters }));
      const published = await ssm(region).send(new GetParameterCommand({ Name: name }));
      expect(published.Parameter?.DataType).toBe("aws:ec2:image");
      expect(found.Images?.map((i) => i.ImageId)).toEqual([published.Parameter?.Value]);
      expect(found.Images?.[0]?.Name).toMatch(/^leaven\/api-server\/1\.14\.2_[0-9a-f]{8}$/);
    }
  });

  it("runs its AWS CLI lookups: the same image by tags, and by the parameter", async () => {
    const shells = blocks(owner, "sh");
    const describe = describeImagesInput(shells.find((b) => b.includes("describe-images"))!);
    const found = await ec2(describe.region).send(
      new DescribeImagesCommand({ Owners: describe.owners, Filters: describe.filters }),
    );
    expect(found.Images).toHaveLength(1);
    const get = words(shells.find((b) => b.includes("get-parameter"))!);
    const name = get[get.indexOf("--name") + 1]!;
    const region = get[get.indexOf("--region") + 1]!;
    const value = (await ssm(region).send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    expect(value).toBe(found.Images![0]!.ImageId);
    // The launch template resolves the same parameter.
    const template = shells.find((b) => b.includes("create-launch-template"))!;
    expect(template).toContain(`"ImageId":"resolve:ssm:${name}"`);
  });
});

describe("docs/consumers.md, in the account the payments images are shared with", () => {
  const other = doc.slice(otherAccounts);

  it("finds the shared images by owner and name, not by tag", async () => {
    const { owners, filters } = amiLookup(blocks(other, "hcl")[0]!);
    expect(owners).toEqual([SIM_ACCOUNT_ID]);
    const cli = describeImagesInput(blocks(other, "sh")[0]!);
    expect(cli.owners).toEqual(owners);
    expect(cli.executable).toEqual(["self"]);
    for (const region of ["us-east-1", "eu-west-1", "ap-southeast-2"]) {
      const consumer = ec2(region, CONSUMER);
      const byName = await consumer.send(new DescribeImagesCommand({ Owners: owners, Filters: filters }));
      expect(byName.Images?.length, region).toBeGreaterThan(0);
      for (const image of byName.Images ?? []) {
        expect(image.Name).toMatch(/^leaven\/payments\/5\.1\.0_[0-9a-f]{8}$/);
        expect(image.Tags ?? []).toEqual([]);
      }
      const viaCli = await consumer.send(
        new DescribeImagesCommand({
          Owners: cli.owners,
          ExecutableUsers: cli.executable,
          Filters: cli.filters,
        }),
      );
      expect(viaCli.Images?.map((i) => i.ImageId).sort()).toEqual(
        byName.Images?.map((i) => i.ImageId).sort(),
      );
      // The owner's lookup by tag finds nothing here: tags do not cross accounts.
      const byTag = await consumer.send(
        new DescribeImagesCommand({
          ExecutableUsers: ["self"],
          Filters: [
            { Name: "tag:leaven.dev/spec", Values: ["payments"] },
            { Name: "tag:leaven.dev/channel/release", Values: ["true"] },
          ],
        }),
      );
      expect(byTag.Images ?? []).toEqual([]);
    }
  });
});
