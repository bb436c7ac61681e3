// Accounts: the simulated caller (SIM_ACCOUNT_ID) and, with awkward `consumerAccount`, a second account that
// images are shared with. The account is chosen by the request's access key id: ids starting `AKIDCONSUMER`
// are the consumer, every other id the owner. Each account has its own instances, launch templates, client
// tokens, SSM parameters and tags; images and snapshots are everyone's, seen through launch and
// create-volume permissions, and EC2 hides one account's tags from every other.
import type { RequestContext } from "./context.ts";
import { SIM_ACCOUNT_ID, SIM_CONSUMER_ACCOUNT_ID } from "./regions.ts";
import type { LaunchPermission, SimImage, SimSnapshot, Tags } from "./world.ts";

export { SIM_ACCOUNT_ID, SIM_CONSUMER_ACCOUNT_ID };

/** Access key ids with this prefix sign as SIM_CONSUMER_ACCOUNT_ID (when the consumer account is on). */
export const CONSUMER_ACCESS_KEY_PREFIX = "AKIDCONSUMER";

export function accountOfAccessKey(accessKeyId: string | undefined, consumerEnabled: boolean): string {
  return consumerEnabled && accessKeyId?.startsWith(CONSUMER_ACCESS_KEY_PREFIX)
    ? SIM_CONSUMER_ACCOUNT_ID
    : SIM_ACCOUNT_ID;
}

/** The organizations and OUs an account belongs to, for launch permissions granted to them. */
export function organizationsOf(ctx: RequestContext, account: string = ctx.account): readonly string[] {
  return account === SIM_CONSUMER_ACCOUNT_ID ? ctx.awkward.consumerOrganizations : [];
}

/** A launch permission naming the account, or an organization or OU it is in ("explicit" permission). */
export function grantsLaunch(
  permission: LaunchPermission,
  account: string,
  organizations: readonly string[],
): boolean {
  return (
    permission.userId === account ||
    (permission.organizationArn !== undefined && organizations.includes(permission.organizationArn)) ||
    (permission.organizationalUnitArn !== undefined &&
      organizations.includes(permission.organizationalUnitArn))
  );
}

/** Whether the caller may see (and launch) an image: its own, public, or shared with it. */
export function canSeeImage(ctx: RequestContext, image: SimImage): boolean {
  if (image.ownerId === ctx.account || image.isPublic) return true;
  const organizations = organizationsOf(ctx);
  return image.launchPermissions.some((p) => grantsLaunch(p, ctx.account, organizations));
}

/** Whether the caller may see a snapshot: its own, or one it may create volumes from. */
export function canSeeSnapshot(ctx: RequestContext, snapshot: SimSnapshot): boolean {
  if (snapshot.ownerId === ctx.account) return true;
  return (snapshot.createVolumePermissions ?? []).some((p) => p.group === "all" || p.userId === ctx.account);
}

/** The tags the caller sees on an image or snapshot: the owner's to the owner, each other account its own. */
export function tagsSeenBy(resource: SimImage | SimSnapshot, account: string): Tags {
  if (resource.ownerId === account) return resource.tags;
  return resource.accountTags?.[account] ?? {};
}

/** The caller's tag set on an image or snapshot, created on first write. */
export function writableTags(resource: SimImage | SimSnapshot, account: string): Tags {
  if (resource.ownerId === account) return resource.tags;
  resource.accountTags ??= {};
  resource.accountTags[account] ??= {};
  return resource.accountTags[account];
}
