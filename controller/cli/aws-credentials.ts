// AWS credentials are resolved once, before anything is observed: without them every request of every
// region fails alike, and a user would read the SDK's "Could not load credentials from any providers"
// once per spec and region, with no word on what to do.
import { EC2Client } from "@aws-sdk/client-ec2";
import { UserError } from "./command.ts";

export interface ResolvedCredentials {
  /** The account the credentials belong to, when the provider says (SSO, AWS_ACCOUNT_ID, some profiles). */
  accountId?: string;
}

/** Resolves the credentials the EC2 clients will use; a UserError naming what was tried and the fixes when there are none. */
export async function probeCredentials(options: {
  profile?: string;
  region: string;
}): Promise<ResolvedCredentials> {
  const client = new EC2Client({
    region: options.region,
    ...(options.profile ? { profile: options.profile } : {}),
  });
  try {
    const credentials = await client.config.credentials();
    return credentials.accountId ? { accountId: credentials.accountId } : {};
  } catch (error) {
    throw new UserError(noCredentialsMessage(options.profile, error));
  } finally {
    client.destroy();
  }
}

export function noCredentialsMessage(profile: string | undefined, error: unknown): string {
  const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const envProfile = process.env.AWS_PROFILE;
  const name = profile ?? envProfile;
  const tried =
    profile !== undefined
      ? `profile "${profile}"`
      : envProfile !== undefined
        ? `profile "${envProfile}" (from AWS_PROFILE)`
        : "the default credential chain (no --profile, no profile: in leaven.yaml, no AWS_PROFILE)";
  const named = name ?? "NAME";
  const fixes: Array<[string, string]> = [
    [
      `aws configure list${name ? ` --profile ${name}` : ""}`,
      `what the AWS CLI finds${name ? " for the profile" : ""}`,
    ],
    [`aws sso login --profile ${named}`, "when the profile signs in with SSO and its session expired"],
    ["--profile NAME, or AWS_PROFILE=NAME", "to use another profile (or profile: NAME in leaven.yaml)"],
  ];
  const width = Math.max(...fixes.map(([command]) => command.length));
  return [
    `cannot load AWS credentials for ${tried}: ${why}`,
    "The AWS SDK looked in the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE), the shared files (~/.aws/credentials,",
    "~/.aws/config), SSO, web identity and the instance role. Nothing was observed or changed. To fix it:",
    ...fixes.map(([command, what]) => `  ${command.padEnd(width)}  # ${what}`),
  ].join("\n");
}
