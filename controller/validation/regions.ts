// The AWS regions a spec may name. Kept as a list (not an API call) so validation works offline.
import { closest } from "./suggest.ts";

/** Every AWS region an AMI can live in: commercial, GovCloud and China partitions. */
export const AWS_REGIONS: readonly string[] = [
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-7",
  "ca-central-1",
  "ca-west-1",
  "cn-north-1",
  "cn-northwest-1",
  "eu-central-1",
  "eu-central-2",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "il-central-1",
  "me-central-1",
  "me-south-1",
  "mx-central-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-gov-east-1",
  "us-gov-west-1",
  "us-west-1",
  "us-west-2",
];

const known = new Set(AWS_REGIONS);

export function isAwsRegion(name: string): boolean {
  return known.has(name);
}

/** The AWS region closest in spelling to `name`, for "did you mean" hints. */
export function closestRegion(name: string): string {
  return closest(name, AWS_REGIONS) ?? "us-east-1";
}
