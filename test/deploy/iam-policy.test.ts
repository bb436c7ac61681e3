// deploy/iam-policy.json against the code: every AWS SDK command the adapters send maps to an action the
// policy allows, and the policy allows no action the code does not call, so the two cannot drift apart.
// The commands are read from the sources (`new XxxCommand(`), not from a list kept by hand.
// docs/iam-policy.json, the policy for users of the CLI, must be the same policy, so all of this covers it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(repo, path), "utf8");

/** The files that talk to AWS: the EC2 adapter, the SSM adapter and the DynamoDB lock. */
const SOURCES = [
  "controller/cloud/aws-adapter.ts",
  "controller/cloud/ssm-adapter.ts",
  "controller/lease/aws-lock.ts",
  "controller/cloud/s3-adapter.ts",
];

const SERVICES: Record<string, string> = {
  "@aws-sdk/client-ec2": "ec2",
  "@aws-sdk/client-ssm": "ssm",
  "@aws-sdk/client-dynamodb": "dynamodb",
  "@aws-sdk/client-s3": "s3",
};

/** Commands whose IAM action is not named after them. */
const ACTION_OF: Record<string, string> = {
  // S3 authorises ListObjectsV2 as ListBucket, on the bucket.
  ListObjectsV2Command: "s3:ListBucket",
};

/**
 * Commands the code holds but never sends to AWS, with why. Both run only in DynamoDbLock.ensureTable, which
 * the CLI calls only on the simulator (`createTable: target.sim`); on AWS the platform team creates the table.
 */
const NOT_ON_AWS: Record<string, string> = {
  CreateTableCommand: "ensureTable, simulator only",
  DescribeTableCommand: "ensureTable, simulator only",
  // The manifests bucket is the platform team's on AWS; openManifests creates it on the simulator only.
  CreateBucketCommand: "createBucketIfMissing, simulator only",
};

const KMS_VIA_EC2 = [
  "kms:CreateGrant",
  "kms:Decrypt",
  "kms:DescribeKey",
  "kms:GenerateDataKeyWithoutPlaintext",
  "kms:ReEncrypt*",
];

/**
 * Actions a request needs besides its own, each with the request field (in the source that sends it) that
 * makes AWS check it; the test fails when the field is gone, so an extra action cannot outlive its reason.
 */
const IMPLIED: Record<string, { field: string; actions: string[] }[]> = {
  "ec2:RunInstances": [
    { field: "TagSpecifications", actions: ["ec2:CreateTags"] },
    { field: "IamInstanceProfile", actions: ["iam:PassRole"] },
    { field: "KmsKeyId", actions: KMS_VIA_EC2 },
  ],
  "ec2:CreateImage": [{ field: "TagSpecifications", actions: ["ec2:CreateTags"] }],
  "ec2:CopyImage": [
    { field: "TagSpecifications", actions: ["ec2:CreateTags"] },
    { field: "KmsKeyId", actions: KMS_VIA_EC2 },
  ],
  "ec2:CreateLaunchTemplate": [{ field: "TagSpecifications", actions: ["ec2:CreateTags"] }],
  "ec2:CreateVolume": [{ field: "TagSpecifications", actions: ["ec2:CreateTags"] }],
  "ec2:CreateSnapshot": [{ field: "TagSpecifications", actions: ["ec2:CreateTags"] }],
  "ec2:RegisterImage": [{ field: "TagSpecifications", actions: ["ec2:CreateTags"] }],
  // EC2 deletes the snapshots in the caller's name: the caller needs DeleteSnapshot on them.
  "ec2:DeregisterImage": [{ field: "DeleteAssociatedSnapshots", actions: ["ec2:DeleteSnapshot"] }],
  // SSM checks AddTagsToResource when PutParameter creates a parameter with Tags.
  "ssm:PutParameter": [{ field: "Tags:", actions: ["ssm:AddTagsToResource"] }],
  // S3 checks PutObjectTagging when PutObject carries x-amz-tagging.
  "s3:PutObject": [{ field: "Tagging:", actions: ["s3:PutObjectTagging"] }],
};

interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(read("deploy/iam-policy.json")) as { Version: string; Statement: Statement[] };

/** The commands a source sends, each with its IAM action (`service:Name`) and the text of its call. */
function sentCommands(path: string): { command: string; action: string; call: string }[] {
  const source = read(path);
  const serviceOf = new Map<string, string>();
  for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(@aws-sdk\/client-[a-z0-9-]+)"/g)) {
    const service = SERVICES[match[2]!];
    if (!service) continue;
    for (const name of match[1]!.split(",")) serviceOf.set(name.replace(/^\s*type\s+/, "").trim(), service);
  }
  const methods = [...source.matchAll(/\n\s*async \w+\(/g)].map((m) => m.index);
  const found: { command: string; action: string; call: string }[] = [];
  for (const match of source.matchAll(/new (\w+Command)\(/g)) {
    const command = match[1]!;
    const service = serviceOf.get(command);
    if (!service) throw new Error(`${path}: ${command} is not imported from a known @aws-sdk client`);
    // The text of the method that sends it (a request can be built before the `new`), to find its fields.
    const start = Math.max(0, ...methods.filter((at) => at <= match.index));
    const end = Math.min(source.length, ...methods.filter((at) => at > match.index));
    found.push({
      command,
      action: ACTION_OF[command] ?? `${service}:${command.replace(/Command$/, "")}`,
      call: source.slice(start, end),
    });
  }
  return found;
}

const commands = SOURCES.flatMap(sentCommands);
const sent = commands.filter((c) => !(c.command in NOT_ON_AWS));

function neededActions(): Map<string, string> {
  const needed = new Map<string, string>();
  for (const { command, action, call } of sent) {
    needed.set(action, command);
    for (const { field, actions } of IMPLIED[action] ?? []) {
      if (!call.includes(field)) continue;
      for (const implied of actions)
        if (!needed.has(implied)) needed.set(implied, `${command} with ${field}`);
    }
  }
  return needed;
}

const allowed = new Set(policy.Statement.flatMap((s) => s.Action));

describe("deploy/iam-policy.json", () => {
  it("finds the SDK commands in the sources", () => {
    expect(commands.length).toBeGreaterThan(30);
    expect(sent.map((c) => c.action)).toEqual(
      expect.arrayContaining(["ec2:RunInstances", "ssm:PutParameter"]),
    );
  });

  it("allows every action the code sends to AWS", () => {
    const missing = [...neededActions()].filter(([action]) => !allowed.has(action));
    expect(missing.map(([action, why]) => `${action} (${why})`)).toEqual([]);
  });

  it("allows no action the code does not send", () => {
    const needed = neededActions();
    expect([...allowed].filter((action) => !needed.has(action)).sort()).toEqual([]);
  });

  it.each(
    Object.entries(IMPLIED).flatMap(([action, rules]) => rules.map((rule) => [action, rule.field] as const)),
  )("%s still sends %s (the reason for its implied actions)", (action, field) => {
    const calls = sent.filter((c) => c.action === action);
    expect(calls.length, `${action} is no longer sent`).toBeGreaterThan(0);
    expect(calls.some((c) => c.call.includes(field))).toBe(true);
  });

  it("leaves the lock table's creation to the simulator", () => {
    const lockSource = read("controller/lease/aws-lock.ts");
    const ensure = lockSource.slice(lockSource.indexOf("async ensureTable("));
    for (const command of ["CreateTableCommand", "DescribeTableCommand"]) {
      expect(commands.some((c) => c.command === command)).toBe(true);
      // Only inside ensureTable…
      expect(lockSource.indexOf(`new ${command}(`)).toBeGreaterThan(lockSource.indexOf("async ensureTable("));
      expect(ensure.slice(0, ensure.indexOf("\n  }\n"))).toContain(`new ${command}(`);
    }
    // …which runs only when the target says so, and the target says so only for the simulator.
    expect(read("controller/cli/lock-target.ts")).toContain(
      "if (settings.createTable) await port.ensureTable();",
    );
    expect(read("controller/cli/cloud-target.ts")).toContain("createTable: target.sim,");
    expect(read("controller/cli/cloud-target.ts")).toContain(
      "if (target.simEndpoint) await store.createBucketIfMissing(manifests.bucket);",
    );
  });

  it("has no wildcard action but KMS's ReEncrypt pair, and only Allow statements with unique ids", () => {
    expect(policy.Version).toBe("2012-10-17");
    const wildcards = [...allowed].filter((a) => a.includes("*"));
    expect(wildcards).toEqual(["kms:ReEncrypt*"]);
    expect(new Set(policy.Statement.map((s) => s.Sid)).size).toBe(policy.Statement.length);
    for (const statement of policy.Statement) expect(statement.Effect).toBe("Allow");
  });

  const ownerTag = { "ec2:ResourceTag/leaven.dev/managed-by": "leaven" };
  it.each([
    "ec2:TerminateInstances",
    "ec2:StopInstances",
    "ec2:GetConsoleOutput",
    "ec2:DeregisterImage",
    "ec2:DisableImage",
    "ec2:EnableImage",
    "ec2:EnableImageDeprecation",
    "ec2:DisableImageDeprecation",
    "ec2:ModifyImageAttribute",
    "ec2:DeleteSnapshot",
    "ec2:ModifySnapshotAttribute",
    "ec2:DeleteLaunchTemplate",
    "ec2:DeleteTags",
    "ec2:AttachVolume",
    "ec2:DetachVolume",
    "ec2:DeleteVolume",
  ])("allows %s only on resources tagged leaven.dev/managed-by=leaven", (action) => {
    const statements = policy.Statement.filter((s) => s.Action.includes(action));
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.Resource).not.toBe("*");
      expect(statement.Condition?.StringEquals).toMatchObject(ownerTag);
    }
  });

  it("tags existing resources only when they are Leaven's, and new ones only as they are created as Leaven's", () => {
    const statements = policy.Statement.filter((s) => s.Action.includes("ec2:CreateTags"));
    expect(statements).toHaveLength(2);
    for (const statement of statements) {
      const equals = statement.Condition?.StringEquals ?? {};
      if ("ec2:CreateAction" in equals) {
        expect([...(equals["ec2:CreateAction"] as string[])].sort()).toEqual(
          [
            "CopyImage",
            "CreateImage",
            "CreateLaunchTemplate",
            "RunInstances",
            "CreateVolume",
            "CreateSnapshot",
            "RegisterImage",
          ].sort(),
        );
        expect(equals["aws:RequestTag/leaven.dev/managed-by"]).toBe("leaven");
      } else expect(equals).toMatchObject(ownerTag);
    }
  });

  it.each(["ec2:RunInstances", "ec2:CreateImage", "ec2:CopyImage", "ec2:CreateLaunchTemplate"])(
    "creates with %s only what is tagged as Leaven's",
    (action) => {
      const creating = policy.Statement.filter(
        (s) =>
          s.Action.includes(action) &&
          [s.Resource]
            .flat()
            .some(
              (r) =>
                /:(instance|volume|image|snapshot|launch-template)\/\*$/.test(r) && !r.includes("::image/*"),
            ),
      );
      expect(creating.length).toBeGreaterThan(0);
      for (const statement of creating) {
        const equals = statement.Condition?.StringEquals ?? {};
        expect(
          equals["aws:RequestTag/leaven.dev/managed-by"] ?? equals["ec2:ResourceTag/leaven.dev/managed-by"],
        ).toBe("leaven");
      }
    },
  );

  it.each([
    ["ec2:CreateVolume", "volume"],
    ["ec2:CreateSnapshot", "snapshot"],
    ["ec2:RegisterImage", "image"],
  ])("creates with %s only a %s tagged as Leaven's, from Leaven's resources", (action, created) => {
    const statements = policy.Statement.filter((s) => s.Action.includes(action));
    const resources = (s: Statement) => [s.Resource].flat();
    const making = statements.filter((s) => resources(s).some((r) => r.endsWith(`:${created}/*`)));
    expect(making.length).toBeGreaterThan(0);
    for (const statement of making)
      expect(statement.Condition?.StringEquals?.["aws:RequestTag/leaven.dev/managed-by"]).toBe("leaven");
    // What it is made from is Leaven's too, except a volume's snapshot: a vendor's base image's.
    for (const statement of statements.filter((s) => !making.includes(s))) {
      if (action === "ec2:CreateVolume") expect(resources(statement)).toEqual(["arn:aws:ec2:*::snapshot/*"]);
      else expect(statement.Condition?.StringEquals).toMatchObject(ownerTag);
    }
  });

  it("sends Run Command only AWS-RunShellScript, and only to Leaven's bakery hosts", () => {
    const statements = policy.Statement.filter((s) => s.Action.includes("ssm:SendCommand"));
    const resources = statements.flatMap((s) => [s.Resource].flat()).sort();
    expect(resources).toEqual(["arn:aws:ec2:*:*:instance/*", "arn:aws:ssm:*::document/AWS-RunShellScript"]);
    const onInstances = statements.find((s) => [s.Resource].flat().includes("arn:aws:ec2:*:*:instance/*"));
    expect(onInstances?.Condition?.StringEquals?.["ssm:resourceTag/leaven.dev/managed-by"]).toBe("leaven");
  });

  it("scopes SSM writes to /leaven, the lock to its table, KMS to EC2 and PassRole to EC2", async () => {
    const resourcesOf = (action: string) =>
      policy.Statement.filter((s) => s.Action.includes(action)).flatMap((s) => [s.Resource].flat());
    for (const action of ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource"])
      expect(resourcesOf(action)).toEqual(["arn:aws:ssm:*:*:parameter/leaven/*"]);
    for (const action of [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
    ])
      expect(resourcesOf(action)).toEqual(["arn:aws:dynamodb:*:*:table/leaven-locks"]);
    for (const statement of policy.Statement.filter((s) => s.Action.some((a) => a.startsWith("kms:"))))
      expect(statement.Condition?.StringLike?.["kms:ViaService"]).toBe("ec2.*.amazonaws.com");
    const passRole = policy.Statement.find((s) => s.Action.includes("iam:PassRole"));
    expect(passRole?.Condition?.StringEquals?.["iam:PassedToService"]).toBe("ec2.amazonaws.com");
    // The lock's items are Leaven's: a reused Terraform lock table's other items stay out of reach.
    const { lockId } = await import("../../controller/lease/aws-lock.ts");
    expect(lockId("payments")).toBe("leaven:installation/payments");
  });

  it("is what the README points at", () => {
    expect(read("README.md")).toContain("deploy/iam-policy.json");
  });

  it("is the policy docs/iam-policy.json gives users of the CLI, statement for statement", () => {
    expect(JSON.parse(read("docs/iam-policy.json"))).toEqual(policy);
    expect(read("docs/getting-started.md")).toContain("file://docs/iam-policy.json");
  });

  it("allows the KMS actions EBS encryption with a customer managed key needs, through EC2 and for AWS resources", () => {
    const kms = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith("kms:")));
    expect(kms.flatMap((s) => s.Action).sort()).toEqual([...KMS_VIA_EC2].sort());
    const grant = kms.find((s) => s.Action.includes("kms:CreateGrant"));
    expect(grant?.Condition?.Bool).toEqual({ "kms:GrantIsForAWSResource": "true" });
  });
});
