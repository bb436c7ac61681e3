// Launch templates in the simulator, over HTTP with the real SDK: what CreateLaunchTemplate,
// DescribeLaunchTemplates and DeleteLaunchTemplate answer and refuse, and that they survive a restart.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateLaunchTemplateCommand,
  type CreateLaunchTemplateCommandInput,
  CreateTagsCommand,
  DeleteLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  paginateDescribeLaunchTemplates,
} from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { SIM_ACCOUNT_ID } from "../../controller/sim/regions.ts";
import { tempDir } from "../support/temp-dir.ts";
import { ec2Error, MINUTE, START, startTestSim, type TestSim, userData } from "./helpers.ts";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  t.client.destroy();
  await t.sim.close();
});

const failed = (spec: string) => [
  { Key: "leaven.dev/managed-by", Value: "leaven" },
  { Key: "leaven.dev/spec", Value: spec },
  { Key: "leaven.dev/role", Value: "failure" },
];

function input(name: string, extra: Partial<CreateLaunchTemplateCommandInput> = {}) {
  return {
    LaunchTemplateName: name,
    LaunchTemplateData: {
      ImageId: "ami-0123456789abcdef0",
      InstanceType: "t3.medium" as const,
      UserData: userData("#!/bin/bash\nLEAVEN_BUILD_ID=1.0.0+aaaa\nexit 1\n"),
      InstanceInitiatedShutdownBehavior: "stop" as const,
    },
    TagSpecifications: [{ ResourceType: "launch-template" as const, Tags: failed("base") }],
    ...extra,
  };
}

async function create(name: string, extra: Partial<CreateLaunchTemplateCommandInput> = {}) {
  const out = await t.client.send(new CreateLaunchTemplateCommand(input(name, extra)));
  return out.LaunchTemplate!;
}

async function describe_(request: ConstructorParameters<typeof DescribeLaunchTemplatesCommand>[0] = {}) {
  return (await t.client.send(new DescribeLaunchTemplatesCommand(request))).LaunchTemplates ?? [];
}

describe("CreateLaunchTemplate", () => {
  it("creates a tagged template and answers it as EC2 does", async () => {
    const template = await create("leaven-failed-base-1.0.0_aaaa");
    expect(template).toEqual({
      LaunchTemplateId: expect.stringMatching(/^lt-[0-9a-f]{17}$/),
      LaunchTemplateName: "leaven-failed-base-1.0.0_aaaa",
      CreateTime: new Date(START),
      CreatedBy: `arn:aws:iam::${SIM_ACCOUNT_ID}:root`,
      DefaultVersionNumber: 1,
      LatestVersionNumber: 1,
      Tags: failed("base"),
    });
    expect(await describe_()).toEqual([template]);
    expect(t.sim.stats().mutating).toBe(1);
  });

  it("keeps names unique per region, and only per region", async () => {
    await create("leaven-failed-base-1");
    const duplicate = await ec2Error(
      t.client.send(new CreateLaunchTemplateCommand(input("leaven-failed-base-1"))),
    );
    expect(duplicate).toMatchObject({
      code: "InvalidLaunchTemplateName.AlreadyExistsException",
      status: 400,
    });
    expect(duplicate.message).toContain("leaven-failed-base-1");
    const east = t.clientFor("us-east-1");
    try {
      const other = await east.send(new CreateLaunchTemplateCommand(input("leaven-failed-base-1")));
      expect(other.LaunchTemplate?.LaunchTemplateName).toBe("leaven-failed-base-1");
    } finally {
      east.destroy();
    }
    expect(await describe_()).toHaveLength(1);
  });

  it("answers a repeated ClientToken with the first template, and refuses it with other arguments", async () => {
    const first = await create("leaven-failed-base-2", { ClientToken: "leaven-failure-1" });
    t.clock.advance(MINUTE);
    const again = await create("leaven-failed-base-2", { ClientToken: "leaven-failure-1" });
    expect(again).toEqual(first);
    expect(await describe_()).toHaveLength(1);

    const changed = await ec2Error(
      t.client.send(
        new CreateLaunchTemplateCommand(
          input("leaven-failed-base-2", { ClientToken: "leaven-failure-1", VersionDescription: "other" }),
        ),
      ),
    );
    expect(changed.code).toBe("IdempotentParameterMismatch");

    // The token outlives its template: a repeat still answers the first request's template.
    await t.client.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: first.LaunchTemplateId }));
    const replay = await create("leaven-failed-base-2", { ClientToken: "leaven-failure-1" });
    expect(replay.LaunchTemplateId).toBe(first.LaunchTemplateId);
    expect(await describe_()).toEqual([]);
  });

  it.each([
    ["too short", "ab"],
    ["too long", "x".repeat(129)],
    ["with a +", "leaven-failed-base-1.0.0+aaaa"],
    ["with a space", "leaven failed"],
  ])("refuses a name %s", async (_what, name) => {
    expect((await ec2Error(t.client.send(new CreateLaunchTemplateCommand(input(name))))).code).toBe(
      "InvalidLaunchTemplateName.MalformedException",
    );
  });

  it("accepts every character EC2 allows in a name, up to 128 of them", async () => {
    const name = `(a)./-_${"z".repeat(121)}`;
    expect(name).toHaveLength(128);
    expect((await create(name)).LaunchTemplateName).toBe(name);
  });

  it("refuses template data EC2 refuses", async () => {
    const withData = (data: Record<string, unknown>) =>
      ec2Error(
        t.client.send(
          new CreateLaunchTemplateCommand({
            LaunchTemplateName: "leaven-failed-bad",
            LaunchTemplateData: data,
          } as CreateLaunchTemplateCommandInput),
        ),
      );
    expect((await withData({})).code).toBe("MissingParameter");
    expect((await withData({ ImageId: "ami-nothex" })).code).toBe("InvalidAMIID.Malformed");
    expect((await withData({ UserData: userData("x".repeat(16_385)) })).code).toBe("InvalidParameterValue");
    expect(
      (
        await withData({
          SecurityGroupIds: ["sg-0123456789abcdef0"],
          NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: "subnet-0123456789abcdef0" }],
        })
      ).code,
    ).toBe("InvalidParameterCombination");
    expect(
      (
        await ec2Error(
          t.client.send(
            new CreateLaunchTemplateCommand(
              input("leaven-failed-bad", {
                TagSpecifications: [{ ResourceType: "instance", Tags: failed("b") }],
              }),
            ),
          ),
        )
      ).code,
    ).toBe("InvalidParameterValue");
    expect(await describe_()).toEqual([]);
  });

  it("keeps what it was sent, and lets CreateTags tag it", async () => {
    const template = await create("leaven-failed-base-3");
    const kept = t.sim.world.region("eu-west-1").launchTemplates.get(template.LaunchTemplateId!)!;
    expect(kept.data).toMatchObject({ ImageId: "ami-0123456789abcdef0", InstanceType: "t3.medium" });
    expect(Buffer.from(kept.data.UserData!, "base64").toString()).toContain("LEAVEN_BUILD_ID=1.0.0+aaaa");
    await t.client.send(
      new CreateTagsCommand({ Resources: [template.LaunchTemplateId!], Tags: [{ Key: "note", Value: "x" }] }),
    );
    expect((await describe_())[0]?.Tags).toContainEqual({ Key: "note", Value: "x" });
  });
});

describe("DescribeLaunchTemplates", () => {
  it("filters by tag, tag key and name (with wildcards), and looks up ids and names", async () => {
    const a = await create("leaven-failed-a-1");
    const b = await create("leaven-failed-b-1", {
      TagSpecifications: [{ ResourceType: "launch-template", Tags: failed("b") }],
    });
    const other = await create("hand-made", {
      TagSpecifications: [{ ResourceType: "launch-template", Tags: [{ Key: "team", Value: "web" }] }],
    });
    const names = (list: { LaunchTemplateName?: string }[]) => list.map((l) => l.LaunchTemplateName);

    expect(
      names(
        await describe_({
          Filters: [
            { Name: "tag:leaven.dev/managed-by", Values: ["leaven"] },
            { Name: "tag:leaven.dev/role", Values: ["failure"] },
          ],
        }),
      ),
    ).toEqual(["leaven-failed-a-1", "leaven-failed-b-1"]);
    expect(names(await describe_({ Filters: [{ Name: "tag:leaven.dev/spec", Values: ["b"] }] }))).toEqual([
      "leaven-failed-b-1",
    ]);
    expect(names(await describe_({ Filters: [{ Name: "tag-key", Values: ["team"] }] }))).toEqual([
      "hand-made",
    ]);
    expect(
      names(await describe_({ Filters: [{ Name: "launch-template-name", Values: ["leaven-failed-*"] }] })),
    ).toEqual(["leaven-failed-a-1", "leaven-failed-b-1"]);
    expect(
      names(await describe_({ LaunchTemplateIds: [other.LaunchTemplateId!, a.LaunchTemplateId!] })),
    ).toEqual(["hand-made", "leaven-failed-a-1"]);
    expect(names(await describe_({ LaunchTemplateNames: ["leaven-failed-b-1"] }))).toEqual([
      b.LaunchTemplateName,
    ]);

    expect(
      (
        await ec2Error(
          t.client.send(new DescribeLaunchTemplatesCommand({ Filters: [{ Name: "owner", Values: ["x"] }] })),
        )
      ).code,
    ).toBe("InvalidParameterValue");
    expect(
      (
        await ec2Error(
          t.client.send(
            new DescribeLaunchTemplatesCommand({
              LaunchTemplateIds: ["lt-0000000000000000f", a.LaunchTemplateId!],
            }),
          ),
        )
      ).code,
    ).toBe("InvalidLaunchTemplateId.NotFound");
    expect(
      (await ec2Error(t.client.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: ["lt-1"] }))))
        .code,
    ).toBe("InvalidLaunchTemplateId.Malformed");
    expect(
      (await ec2Error(t.client.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ["nope"] }))))
        .code,
    ).toBe("InvalidLaunchTemplateName.NotFoundException");
  });

  it("pages with NextToken, at most 200 at a time", async () => {
    for (let i = 0; i < 205; i++) await create(`leaven-failed-many-${String(i).padStart(3, "0")}`);
    const first = await t.client.send(new DescribeLaunchTemplatesCommand({ MaxResults: 200 }));
    expect(first.LaunchTemplates).toHaveLength(200);
    expect(first.NextToken).toBeDefined();

    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateDescribeLaunchTemplates({ client: t.client, pageSize: 200 }, {})) {
      pages.push(page.LaunchTemplates?.length ?? 0);
      seen.push(...(page.LaunchTemplates ?? []).map((l) => l.LaunchTemplateName!));
    }
    expect(pages).toEqual([200, 5]);
    expect(new Set(seen).size).toBe(205);

    expect(
      (await ec2Error(t.client.send(new DescribeLaunchTemplatesCommand({ MaxResults: 201 })))).code,
    ).toBe("InvalidParameterValue");
    expect(await describe_({ MaxResults: 1 })).toHaveLength(1);
  });
});

describe("DeleteLaunchTemplate", () => {
  it("deletes by id or by name, and says which one does not exist", async () => {
    const a = await create("leaven-failed-del-a");
    await create("leaven-failed-del-b");
    const deleted = await t.client.send(
      new DeleteLaunchTemplateCommand({ LaunchTemplateId: a.LaunchTemplateId }),
    );
    expect(deleted.LaunchTemplate).toEqual(a);
    await t.client.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: "leaven-failed-del-b" }));
    expect(await describe_()).toEqual([]);

    const again = await ec2Error(
      t.client.send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: a.LaunchTemplateId })),
    );
    expect(again).toMatchObject({ code: "InvalidLaunchTemplateId.NotFound", status: 400 });
    expect(again.message).toContain(a.LaunchTemplateId);
    expect(
      (
        await ec2Error(
          t.client.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: "leaven-failed-del-b" })),
        )
      ).code,
    ).toBe("InvalidLaunchTemplateName.NotFoundException");
    expect(
      (
        await ec2Error(
          t.client.send(
            new DeleteLaunchTemplateCommand({
              LaunchTemplateId: a.LaunchTemplateId,
              LaunchTemplateName: "x-y-z",
            }),
          ),
        )
      ).code,
    ).toBe("InvalidParameterCombination");
    expect((await ec2Error(t.client.send(new DeleteLaunchTemplateCommand({})))).code).toBe(
      "MissingParameter",
    );
    // A deleted name may be used again.
    expect((await create("leaven-failed-del-a")).LaunchTemplateId).not.toBe(a.LaunchTemplateId);
  });
});

describe("persistence", () => {
  it("keeps templates and their tokens across a restart, and reads a state file from before templates", async () => {
    const statePath = join(tempDir("leaven-sim-lt-"), "state.json");
    const clock = new ManualClock(START);
    const first = await startTestSim({ clock, statePath });
    const created = (
      await first.client.send(
        new CreateLaunchTemplateCommand(input("leaven-failed-kept", { ClientToken: "tok" })),
      )
    ).LaunchTemplate!;
    // No close(): an acknowledged create is already on disk, as after a kill -9.
    const second = await startTestSim({ clock, statePath });
    try {
      await first.sim.close();
      first.client.destroy();
      const found = await second.client.send(new DescribeLaunchTemplatesCommand({}));
      expect(found.LaunchTemplates).toEqual([created]);
      const replay = await second.client.send(
        new CreateLaunchTemplateCommand(input("leaven-failed-kept", { ClientToken: "tok" })),
      );
      expect(replay.LaunchTemplate?.LaunchTemplateId).toBe(created.LaunchTemplateId);
      expect(
        (await ec2Error(second.client.send(new CreateLaunchTemplateCommand(input("leaven-failed-kept")))))
          .code,
      ).toBe("InvalidLaunchTemplateName.AlreadyExistsException");
    } finally {
      second.client.destroy();
      await second.sim.close();
    }

    // A state file written before the simulator knew launch templates has none, and loads.
    const old = JSON.parse(readFileSync(statePath, "utf8")) as { regions: Record<string, object> };
    for (const region of Object.values(old.regions))
      delete (region as { launchTemplates?: unknown }).launchTemplates;
    writeFileSync(statePath, JSON.stringify(old));
    const third = await startTestSim({ clock, statePath });
    try {
      expect((await third.client.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates).toEqual([]);
    } finally {
      third.client.destroy();
      await third.sim.close();
    }
  });
});
