import type { Faults } from "./faults.ts";
import type { ListingCache } from "./pagination.ts";
import type { Params } from "./query-protocol.ts";
import type { World } from "./world.ts";
import type { XmlObject } from "./xml.ts";

/** What an action handler sees: the world, the caller's region, the request parameters. */
export interface RequestContext {
  world: World;
  region: string;
  params: Params;
  faults: Faults;
  listings: ListingCache;
  now: number;
}

/** Handles one EC2 action; returns the members of `<ActionResponse>` after `requestId`. Throws SimError. */
export type ActionHandler = (ctx: RequestContext) => XmlObject;
