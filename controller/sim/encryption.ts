// EBS encryption: encryption by default per account and region (EnableEbsEncryptionByDefault; awkward
// `defaultEncryption` switches it on wherever it was never set), the account's AWS managed key for EBS
// (`alias/aws/ebs`, one per account and region, recorded on volumes and snapshots by its key ARN), and EC2's
// refusal to share what that key encrypts: AWS managed keys cannot be shared, so neither can their snapshots.
import { createHash } from "node:crypto";
import { type ActionHandler, callerRegion, type RequestContext } from "./context.ts";
import { SimError } from "./errors.ts";
import type { LaunchPermission, RegionState, SimImage, SimSnapshot, VolumePermission } from "./world.ts";

export const AWS_MANAGED_EBS_ALIAS = "alias/aws/ebs";

/** The key ARN of the account's AWS managed EBS key in a region (a stable, made-up key id). */
export function awsManagedEbsKey(account: string, region: string): string {
  const h = createHash("sha256").update(`aws/ebs:${account}:${region}`).digest("hex");
  const id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return `arn:aws:kms:${region}:${account}:key/${id}`;
}

function managedAliasArn(account: string, region: string): string {
  return `arn:aws:kms:${region}:${account}:${AWS_MANAGED_EBS_ALIAS}`;
}

/** A KmsKeyId as sent → as recorded: the managed key's alias, in either form, becomes its key ARN. */
export function recordedKey(keyId: string, account: string, region: string): string {
  return keyId === AWS_MANAGED_EBS_ALIAS || keyId === managedAliasArn(account, region)
    ? awsManagedEbsKey(account, region)
    : keyId;
}

/** Whether a recorded key is some account's AWS managed EBS key. */
export function isAwsManagedEbsKey(keyId: string | undefined): boolean {
  const match = keyId ? /^arn:aws:kms:([^:]+):(\d{12}):key\//.exec(keyId) : null;
  return match !== null && keyId === awsManagedEbsKey(match[2]!, match[1]!);
}

export function encryptionByDefault(ctx: RequestContext, state: RegionState = callerRegion(ctx)): boolean {
  return state.ebsEncryptionByDefault ?? ctx.awkward.defaultEncryption;
}

export interface Encryption {
  encrypted: boolean;
  kmsKeyId?: string;
}

/**
 * The encryption of a new volume or copied snapshot: the requested key (which needs `Encrypted=true`); else the
 * source's key; else, when encryption was asked for or is on by default, the caller's default key (its AWS
 * managed key); else none.
 */
export function newEncryption(
  ctx: RequestContext,
  request: { encrypted?: boolean; kmsKeyId?: string },
  source: Encryption,
  shownAs: string,
): Encryption {
  if (request.kmsKeyId !== undefined) {
    if (request.encrypted !== true) {
      throw new SimError(
        "InvalidParameterCombination",
        `${shownAs}KmsKeyId is specified, but Encrypted is not set to true.`,
      );
    }
    return { encrypted: true, kmsKeyId: recordedKey(request.kmsKeyId, ctx.account, ctx.region) };
  }
  // A volume keeps its snapshot's key. (CopyImage passes no source key: a copy without KmsKeyId gets the
  // destination's default key, as EC2 documents.)
  if (source.encrypted && source.kmsKeyId !== undefined)
    return { encrypted: true, kmsKeyId: source.kmsKeyId };
  if (source.encrypted || request.encrypted === true || encryptionByDefault(ctx)) {
    return { encrypted: true, kmsKeyId: awsManagedEbsKey(ctx.account, ctx.region) };
  }
  return { encrypted: false };
}

/** ModifyImageAttribute adding an account, organization or OU to an image whose snapshots use an AWS managed key. */
export function refuseManagedKeyImageSharing(
  region: RegionState,
  image: SimImage,
  add: readonly LaunchPermission[],
): void {
  const sharesWithAccounts = add.some(
    (p) => p.userId !== undefined || p.organizationArn !== undefined || p.organizationalUnitArn !== undefined,
  );
  if (!sharesWithAccounts) return;
  const managed =
    isAwsManagedEbsKey(image.kmsKeyId) ||
    image.snapshotIds.some((id) => isAwsManagedEbsKey(region.snapshots.get(id)?.kmsKeyId));
  if (managed) {
    // EC2's answer, as observed (it has a typographic apostrophe in some reports and a plain one in others).
    throw new SimError(
      "InvalidParameter",
      "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.",
    );
  }
}

/** ModifySnapshotAttribute adding an account to a snapshot encrypted with an AWS managed key. */
export function refuseManagedKeySnapshotSharing(
  snapshot: SimSnapshot,
  add: readonly VolumePermission[],
): void {
  if (add.some((p) => p.userId !== undefined) && isAwsManagedEbsKey(snapshot.kmsKeyId)) {
    throw new SimError("OperationNotPermitted", "Encrypted snapshots with EBS default key cannot be shared");
  }
}

export const getEbsEncryptionByDefault: ActionHandler = (ctx) => ({
  ebsEncryptionByDefault: encryptionByDefault(ctx),
  sseType: "sse-ebs",
});

export const enableEbsEncryptionByDefault: ActionHandler = (ctx) => {
  callerRegion(ctx).ebsEncryptionByDefault = true;
  return { ebsEncryptionByDefault: true };
};

export const disableEbsEncryptionByDefault: ActionHandler = (ctx) => {
  callerRegion(ctx).ebsEncryptionByDefault = false;
  return { ebsEncryptionByDefault: false };
};

/** The default key is always the AWS managed one: the simulator does not serve ModifyEbsDefaultKmsKeyId. */
export const getEbsDefaultKmsKeyId: ActionHandler = (ctx) => ({
  kmsKeyId: managedAliasArn(ctx.account, ctx.region),
});
