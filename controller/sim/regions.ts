// The simulated partition: the commercial regions that are enabled for every account, and the caller.

export const SIM_REGIONS: readonly string[] = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-central-1",
  "eu-north-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-northeast-1",
  "ap-south-1",
  "ca-central-1",
  "sa-east-1",
];

/** The account id of the simulated caller (what `self` means in Owner and OwnerId). */
export const SIM_ACCOUNT_ID = "123456789012";

/**
 * A second account (awkward `consumerAccount`), for requests signed with an `AKIDCONSUMER…` access key id: the
 * examples' payments production account, which examples/apps/payments.yaml shares its images with.
 */
export const SIM_CONSUMER_ACCOUNT_ID = "777788889999";

export function isSimRegion(region: string): boolean {
  return SIM_REGIONS.includes(region);
}
