// What the ownership guard reads back before each volume-bake action (targetsOf): every resource the action
// changes must carry Leaven's tags first — the bakery host it stops or sends a command to (unless the user
// named it), the volume it attaches, detaches, tags, snapshots or deletes, the snapshot it registers.
import { describe, expect, it } from "vitest";
import { targetsOf } from "../../controller/execute/ownership-guard.ts";
import type { Action } from "../../controller/plan/actions.ts";

const region = "us-east-1";
const base = { spec: "app", region, reason: "test" };
const volume = { kind: "volume", region, id: "vol-0123" };
const host = { kind: "instance", region, id: "i-0host" };
const command = { instanceIds: ["i-0host"], commands: ["true"], comment: "c" };

describe("targetsOf, volume bakes", () => {
  it.each<[string, Action, unknown[]]>([
    ["stop-instance: the host", { ...base, kind: "stop-instance", instanceId: "i-0host", tags: {} }, [host]],
    [
      "start-instance: the host",
      { ...base, kind: "start-instance", instanceId: "i-0host", tags: {} },
      [host],
    ],
    [
      "attach-volume: the volume and Leaven's host",
      {
        ...base,
        kind: "attach-volume",
        build: "b",
        volumeId: "vol-0123",
        instanceId: "i-0host",
        device: "/dev/sdf",
      },
      [volume, host],
    ],
    [
      "attach-volume: only the volume on a user-named host",
      {
        ...base,
        kind: "attach-volume",
        build: "b",
        volumeId: "vol-0123",
        instanceId: "i-0host",
        device: "/dev/sdf",
        userNamedHost: true,
      },
      [volume],
    ],
    [
      "send-bake-command: the volume and Leaven's host",
      {
        ...base,
        kind: "send-bake-command",
        build: "b",
        volumeId: "vol-0123",
        instanceId: "i-0host",
        command,
      },
      [volume, host],
    ],
    [
      "send-bake-command: only the volume on a user-named host",
      {
        ...base,
        kind: "send-bake-command",
        build: "b",
        volumeId: "vol-0123",
        instanceId: "i-0host",
        command,
        userNamedHost: true,
      },
      [volume],
    ],
    ["delete-volume: the volume", { ...base, kind: "delete-volume", volumeId: "vol-0123" }, [volume]],
    [
      "register-image: the snapshot",
      {
        ...base,
        kind: "register-image",
        build: "b",
        snapshotId: "snap-0123",
        parentImageId: "ami-0parent",
        image: { name: "n", tags: {}, root: { deviceName: "/dev/xvda" } },
      } as unknown as Action,
      [{ kind: "snapshot", region, id: "snap-0123" }],
    ],
  ])("%s", (_, action, targets) => {
    expect(targetsOf(action)).toEqual(targets);
  });
});
