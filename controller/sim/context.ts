import type { AwkwardOptions } from "./awkward.ts";
import type { Faults } from "./faults.ts";
import type { ListingCache } from "./pagination.ts";
import type { Params } from "./query-protocol.ts";
import type { World } from "./world.ts";
import type { XmlObject } from "./xml.ts";

/** What an action handler sees: the world, the caller's account and region, the request parameters. */
export interface RequestContext {
  world: World;
  region: string;
  /** The calling account (accounts.ts): SIM_ACCOUNT_ID unless the awkward consumer account signed the request. */
  account: string;
  params: Params;
  faults: Faults;
  listings: ListingCache;
  now: number;
  awkward: AwkwardOptions;
  /** The simulator's seeded PRNG (Faults.seed): every random lag is drawn from it. */
  random: () => number;
}

/** Handles one EC2 action; returns the members of `<ActionResponse>` after `requestId`. Throws SimError. */
export type ActionHandler = (ctx: RequestContext) => XmlObject;

/** The caller's view of the request's region. */
export function callerRegion(ctx: RequestContext, region: string = ctx.region) {
  return ctx.world.accountRegion(ctx.account, region);
}
