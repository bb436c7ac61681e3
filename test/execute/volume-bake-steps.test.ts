// The volume bake's executor steps that have no idempotency token or resolve a conflict: the bake command
// (its send recorded on the volume first; SSM refusing the host clears that record, and marks a host Leaven owns
// unhealthy once its agent has had time to register), and RegisterImage's duplicate name, adopted only when
// the image holding it is this installation's image of this build; and CreateSnapshot, which takes an earlier
// snapshot of the volume and build only when it is this installation's.
import { describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import {
  CloudError,
  type CloudImage,
  type CloudPort,
  type RegisterImageInput,
  type Tags,
} from "../../controller/cloud/port.ts";
import { execute, HOST_REGISTRATION_MS } from "../../controller/execute/executor.ts";
import type {
  CreateBakeSnapshotAction,
  RegisterImageAction,
  SendBakeCommandAction,
} from "../../controller/plan/actions.ts";

const REGION = "us-east-1";
const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const BUILD = "1.0.0+abcdef12";
const OWNED: Tags = { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.installation]: "default" };
const VOLUME = "vol-0000000000000001";
const HOST = "i-0000000000000host";
const SNAPSHOT = "snap-000000000000001";
const PARENT = "ami-0000000000parent";
const NAME = "leaven/base/1.0.0_abcdef12";

type Call = [string, ...unknown[]];

/** A cloud holding one owned volume, host and snapshot, recording the changing calls in order. */
function fakeCloud(options: {
  sendError?: CloudError;
  named?: CloudImage[];
  registerError?: CloudError;
  /** What the lookup of a bake's snapshot by its volume and build tags finds. */
  existing?: { snapshotId: string; tags: Tags }[];
}) {
  const calls: Call[] = [];
  const cloud = {
    async describeVolumes() {
      return [{ volumeId: VOLUME, region: REGION, tags: OWNED }];
    },
    async describeInstances() {
      return [{ instanceId: HOST, region: REGION, state: "running", tags: OWNED }];
    },
    async describeSnapshots(_region: string, filters: { name: string }[]) {
      if (filters[0]?.name === "snapshot-id")
        return [{ snapshotId: SNAPSHOT, region: REGION, state: "completed", tags: OWNED }];
      calls.push(["describeSnapshots", filters]);
      return (options.existing ?? []).map((s) => ({ ...s, region: REGION, state: "pending" }));
    },
    async createSnapshot() {
      calls.push(["createSnapshot"]);
      return { snapshotId: "snap-00000000000new" };
    },
    async describeImages(_region: string, query: { imageIds?: string[] }) {
      if (query.imageIds)
        return [
          {
            imageId: PARENT,
            region: REGION,
            name: "parent",
            state: "available",
            rootDeviceName: "/dev/sda1",
            snapshotIds: ["snap-parent"],
            boot: {
              rootSnapshotId: "snap-parent",
              bootMode: "uefi",
              enaSupport: true,
              sriovNetSupport: true,
            },
            tags: {},
          },
        ];
      calls.push(["describeImages", query]);
      return options.named ?? [];
    },
    async createTags(_region: string, ids: string[], tags: Tags) {
      calls.push(["createTags", ids, tags]);
    },
    async deleteTags(_region: string, ids: string[], keys: string[]) {
      calls.push(["deleteTags", ids, keys]);
    },
    async sendCommand() {
      calls.push(["sendCommand"]);
      if (options.sendError) throw options.sendError;
      return { commandId: "cmd-1" };
    },
    async registerImage(_region: string, input: RegisterImageInput) {
      calls.push(["registerImage", input]);
      if (options.registerError) throw options.registerError;
      return { imageId: "ami-0000000000000new" };
    },
  } as unknown as CloudPort;
  return { cloud, calls };
}

const send = (extra: Partial<SendBakeCommandAction> = {}): SendBakeCommandAction => ({
  kind: "send-bake-command",
  spec: "base",
  build: BUILD,
  region: REGION,
  volumeId: VOLUME,
  instanceId: HOST,
  command: { instanceIds: [HOST], commands: ["true"], comment: `leaven-bake ${BUILD} ${VOLUME}` },
  hostLaunchedAt: new Date(NOW - HOST_REGISTRATION_MS).toISOString(),
  reason: "test",
  ...extra,
});

const unreachable = () => new CloudError("InvalidInstanceId", "Instances not in a valid state", 400, false);
const sentAt = { [Tag.commandRequestedAt]: new Date(NOW).toISOString() };
const run = (
  cloud: CloudPort,
  action: SendBakeCommandAction | RegisterImageAction | CreateBakeSnapshotAction,
) => execute(cloud, [action], { now: () => NOW });

describe("send-bake-command", () => {
  it("records the send on the volume before it sends", async () => {
    const { cloud, calls } = fakeCloud({});
    const [result] = await run(cloud, send());
    expect(result).toMatchObject({ ok: true, created: "cmd-1" });
    expect(calls).toEqual([["createTags", [VOLUME], sentAt], ["sendCommand"]]);
  });

  it("keeps the record when the send failed otherwise: it may have gone through", async () => {
    const lost = new CloudError("CommandNotListedYet", "may have gone through", 0, true);
    const { cloud, calls } = fakeCloud({ sendError: lost });
    const [result] = await run(cloud, send());
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result?.error).toMatch(/^CommandNotListedYet: may have gone through/);
    expect(calls.map(([name]) => name)).toEqual(["createTags", "sendCommand"]);
  });

  it.each([
    [
      "a host Leaven owns, launched HOST_REGISTRATION_MS ago: marked unhealthy",
      send(),
      /^InvalidInstanceId: Instances not in a valid state; bakery host i-0000000000000host is marked unhealthy and will be replaced/,
      [["createTags", [HOST], { [Tag.unhealthy]: "SSM Run Command cannot reach it (InvalidInstanceId)" }]],
    ],
    [
      "a host Leaven owns, launched a moment too recently: its agent may be registering",
      send({ hostLaunchedAt: new Date(NOW - HOST_REGISTRATION_MS + 1).toISOString() }),
      /^InvalidInstanceId: Instances not in a valid state \(the host's SSM agent may still be registering\)$/,
      [],
    ],
    [
      "a user-named host: the error as SSM gave it, the host untouched",
      send({ userNamedHost: true, hostLaunchedAt: undefined }),
      /^InvalidInstanceId: Instances not in a valid state$/,
      [],
    ],
  ])("clears the record when SSM refuses %s", async (_label, action, error, after) => {
    const { cloud, calls } = fakeCloud({ sendError: unreachable() });
    const [result] = await run(cloud, action);
    // A host Leaven owns is waited for or replaced: the bake tries again. A user-named one is the user's to fix.
    expect(result).toMatchObject({ ok: false, retryable: action.userNamedHost !== true });
    expect(result?.error).toMatch(error);
    expect(calls).toEqual([
      ["createTags", [VOLUME], sentAt],
      ["sendCommand"],
      ["deleteTags", [VOLUME], [Tag.commandRequestedAt]],
      ...after,
    ]);
  });
});

const register: RegisterImageAction = {
  kind: "register-image",
  spec: "base",
  build: BUILD,
  region: REGION,
  snapshotId: SNAPSHOT,
  parentImageId: PARENT,
  image: {
    name: NAME,
    root: { volumeType: "gp3", deleteOnTermination: true },
    tags: { ...OWNED, [Tag.build]: BUILD },
  },
  reason: "test",
};

const holder = (tags: Tags): CloudImage => ({
  imageId: "ami-00000000000holder",
  region: REGION,
  name: NAME,
  state: "available",
  ownerId: "123456789012",
  creationDate: "2026-06-01T11:00:00.000Z",
  snapshotIds: [],
  tags,
});

describe("register-image", () => {
  it("registers with the parent's boot settings and the defaults EC2 would not guess", async () => {
    const { cloud, calls } = fakeCloud({});
    const [result] = await run(cloud, register);
    expect(result).toMatchObject({ ok: true, created: "ami-0000000000000new" });
    expect(calls).toEqual([
      [
        "registerImage",
        {
          name: NAME,
          architecture: "x86_64",
          bootMode: "uefi",
          enaSupport: true,
          sriovNetSupport: true,
          virtualizationType: "hvm",
          rootDeviceName: "/dev/sda1",
          root: { volumeType: "gp3", deleteOnTermination: true, snapshotId: SNAPSHOT },
          tags: register.image.tags,
        },
      ],
    ]);
  });

  const duplicate = () =>
    new CloudError("InvalidAMIName.Duplicate", `AMI name ${NAME} is already in use`, 400, false);
  it.each([
    ["this installation's image of this build: an earlier attempt's", { ...OWNED, [Tag.build]: BUILD }, true],
    ["this installation's image of another build", { ...OWNED, [Tag.build]: "0.9.0+00000000" }, false],
    [
      "another installation's image of this build",
      { ...OWNED, [Tag.installation]: "other", [Tag.build]: BUILD },
      false,
    ],
    ["an image with no owner tag", { [Tag.build]: BUILD }, false],
  ])("on a duplicate name held by %s, adopts it only if it is ours", async (_label, tags, adopted) => {
    const { cloud, calls } = fakeCloud({ registerError: duplicate(), named: [holder(tags)] });
    const [result] = await run(cloud, register);
    // Looked for by its name among this account's images, deprecated or disabled ones too.
    expect(calls.find(([name]) => name === "describeImages")).toEqual([
      "describeImages",
      {
        owners: ["self"],
        filters: [{ name: "name", values: [NAME] }],
        includeDeprecated: true,
        includeDisabled: true,
      },
    ]);
    if (adopted) expect(result).toMatchObject({ ok: true, created: "ami-00000000000holder" });
    else {
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(result?.error).toBe(`InvalidAMIName.Duplicate: AMI name ${NAME} is already in use`);
    }
  });

  it("fails on any other error as EC2 gave it, with no look for an image of its name", async () => {
    const gone = new CloudError("InvalidSnapshot.NotFound", "The snapshot does not exist", 400, false);
    const { cloud, calls } = fakeCloud({
      registerError: gone,
      named: [holder({ ...OWNED, [Tag.build]: BUILD })],
    });
    const [result] = await run(cloud, register);
    expect(result).toMatchObject({
      ok: false,
      error: "InvalidSnapshot.NotFound: The snapshot does not exist",
    });
    expect(calls.map(([name]) => name)).toEqual(["registerImage"]);
  });

  it("on a duplicate name no image is listed for yet, fails retryably and says the next pass looks again", async () => {
    const { cloud } = fakeCloud({ registerError: duplicate(), named: [] });
    const [result] = await run(cloud, register);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result?.error).toBe(
      `ImageNotListedYet: InvalidAMIName.Duplicate: AMI name ${NAME} is already in use, but no image of that name is listed yet (EC2 lists a new image a few seconds after RegisterImage); the next pass looks again`,
    );
  });
});

const snapshot: CreateBakeSnapshotAction = {
  kind: "create-bake-snapshot",
  spec: "base",
  build: BUILD,
  region: REGION,
  volumeId: VOLUME,
  snapshot: { volumeId: VOLUME, tags: { ...OWNED, [Tag.build]: BUILD, [Tag.bakeVolume]: VOLUME } },
  reason: "test",
};

describe("create-bake-snapshot", () => {
  const lookup = [
    "describeSnapshots",
    [
      { name: `tag:${Tag.bakeVolume}`, values: [VOLUME] },
      { name: `tag:${Tag.build}`, values: [BUILD] },
    ],
  ];
  it("takes this installation's snapshot of the volume and build when there is one, and asks for none", async () => {
    const { cloud, calls } = fakeCloud({ existing: [{ snapshotId: "snap-0000000000earlier", tags: OWNED }] });
    const [result] = await run(cloud, snapshot);
    expect(result).toMatchObject({ ok: true, created: "snap-0000000000earlier" });
    expect(calls).toEqual([lookup]);
  });

  it("ignores a look-alike of another installation: records the request, then snapshots", async () => {
    const theirs = { snapshotId: "snap-000000000000their", tags: { ...OWNED, [Tag.installation]: "other" } };
    const { cloud, calls } = fakeCloud({ existing: [theirs] });
    const [result] = await run(cloud, snapshot);
    expect(result).toMatchObject({ ok: true, created: "snap-00000000000new" });
    expect(calls).toEqual([
      lookup,
      ["createTags", [VOLUME], { [Tag.snapshotRequestedAt]: new Date(NOW).toISOString() }],
      ["createSnapshot"],
    ]);
  });
});
