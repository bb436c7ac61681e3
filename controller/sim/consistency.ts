// Eventual consistency (awkward `consistency`): EC2 answers a create call with the new id before every other
// call can see it. For a random time of up to `consistencyLagMs` a new image, instance or snapshot is missing
// from Describe calls (by id and by filter) and calls that name it answer its `*.NotFound` error (an SSM
// command: missing from ListCommands, InvocationDoesNotExist from GetCommandInvocation); the
// creating call's answer, and an idempotent repeat of it, still carry the id. A snapshot also stays in use
// for `snapshotInUseMs` after the image that used it was deregistered.
import type { RequestContext } from "./context.ts";
import type { RegionState, SimImage } from "./world.ts";

/** When a resource created now becomes visible; undefined (at once) unless consistency is on. */
export function visibleFrom(ctx: Pick<RequestContext, "awkward" | "now" | "random">): number | undefined {
  if (!ctx.awkward.consistency) return undefined;
  return ctx.now + Math.floor(ctx.random() * (ctx.awkward.consistencyLagMs + 1));
}

/** Whether other calls see the resource yet. */
export function isVisible(resource: { visibleAt?: number }, now: number): boolean {
  return resource.visibleAt === undefined || resource.visibleAt <= now;
}

/** Marks the snapshots of a deregistered image as just released, so DeleteSnapshot still finds them in use. */
export function releaseSnapshots(ctx: RequestContext, region: RegionState, image: SimImage): void {
  if (!ctx.awkward.consistency) return;
  for (const snapshotId of image.snapshotIds) {
    const snapshot = region.snapshots.get(snapshotId);
    if (snapshot) snapshot.releasedFrom = { imageId: image.imageId, at: ctx.now };
  }
}

/** The image a snapshot was released from less than `snapshotInUseMs` ago, if any. */
export function recentlyReleasedFrom(
  ctx: RequestContext,
  snapshot: { releasedFrom?: { imageId: string; at: number } },
): string | undefined {
  const released = snapshot.releasedFrom;
  if (!ctx.awkward.consistency || !released) return undefined;
  return ctx.now < released.at + ctx.awkward.snapshotInUseMs ? released.imageId : undefined;
}
