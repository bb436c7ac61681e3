// Client-token lifetimes (awkward `tokenExpiry`). EC2 remembers a RunInstances ClientToken for a while after
// its instances terminated ("at least 24 hours"); once it forgets, the same token launches anew. For CopyImage
// AWS states no lifetime: the simulator assumes the same 24 hours, counted from the deregistration of the copy
// the token made. The time a token's resources ended is recorded in every mode; it only expires when asked.
import type { RequestContext } from "./context.ts";
import type { IdempotencyRecord, RegionState, SimInstance } from "./world.ts";

/** The token's record, unless it has expired (then it is forgotten). */
export function liveToken(
  ctx: RequestContext,
  region: RegionState,
  key: string,
): IdempotencyRecord | undefined {
  const record = region.tokens.get(key);
  if (!record) return undefined;
  if (
    ctx.awkward.tokenExpiry &&
    record.endedAt !== undefined &&
    ctx.now >= record.endedAt + ctx.awkward.tokenLifetimeMs
  ) {
    region.tokens.delete(key);
    return undefined;
  }
  return record;
}

/** After TerminateInstances: when every instance of the launch that used the token is terminated, note when. */
export function noteInstancesEnding(
  region: RegionState,
  instances: readonly SimInstance[],
  terminatedAt: (instance: SimInstance) => number | undefined,
): void {
  const tokens = new Set(instances.map((i) => i.clientToken).filter((t): t is string => t !== undefined));
  for (const token of tokens) {
    const record = region.tokens.get(`RunInstances:${token}`);
    if (!record || record.endedAt !== undefined) continue;
    // A launched instance that has already vanished ended before these.
    const ends = record.ids.map((id) => {
      const instance = region.instances.get(id);
      return instance ? terminatedAt(instance) : 0;
    });
    if (ends.every((at) => at !== undefined)) record.endedAt = Math.max(...ends);
  }
}

/** After DeregisterImage: the CopyImage token that made this image ends now. */
export function noteImageGone(ctx: RequestContext, region: RegionState, imageId: string): void {
  for (const [key, record] of region.tokens) {
    if (key.startsWith("CopyImage:") && record.ids[0] === imageId && record.endedAt === undefined) {
      record.endedAt = ctx.now;
    }
  }
}
