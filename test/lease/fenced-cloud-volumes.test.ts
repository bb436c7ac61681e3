// The fenced cloud and the volume bake's port methods: once the lease is lost the changing calls are refused
// before any request, and the two reads (volumes, command invocations) still go through.
import { describe, expect, it } from "vitest";
import { CloudError, type CloudPort } from "../../controller/cloud/port.ts";
import { fenceCloud, LOCK_LOST_CODE } from "../../controller/lease/fenced-cloud.ts";

const METHODS = [
  ["createVolume", false],
  ["attachVolume", false],
  ["detachVolume", false],
  ["deleteVolume", false],
  ["createSnapshot", false],
  ["registerImage", false],
  ["sendCommand", false],
  ["describeVolumes", true],
  ["getCommandInvocation", true],
  ["listCommands", true],
] as const;

describe("the fenced cloud's volume-bake methods, with the lease lost", () => {
  it.each(METHODS)("%s goes through: %s", async (method, passes) => {
    const calls: string[] = [];
    const inner = Object.fromEntries(
      METHODS.map(([name]) => [
        name,
        async () => {
          calls.push(name);
        },
      ]),
    ) as unknown as CloudPort;
    const cloud = fenceCloud(inner, () => "the lock was taken over") as unknown as Record<
      string,
      (...args: unknown[]) => Promise<unknown>
    >;
    const outcome = await cloud[method]!("us-east-1").then(
      () => "sent",
      (error: unknown) => error,
    );
    if (passes) {
      expect(outcome).toBe("sent");
      expect(calls).toEqual([method]);
    } else {
      expect(outcome).toBeInstanceOf(CloudError);
      expect((outcome as CloudError).code).toBe(LOCK_LOST_CODE);
      expect((outcome as CloudError).message).toBe(`${LOCK_LOST_CODE}: not sent: the lock was taken over`);
      expect(calls).toEqual([]);
    }
  });
});
