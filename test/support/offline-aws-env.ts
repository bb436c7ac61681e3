// An environment in which the AWS SDK can find no credentials but the ones a test gives it, and can
// reach no AWS service: every AWS_* variable of the test runner is dropped, the shared config and
// credentials files point into a scratch folder, and the instance metadata service is off. Tests pair it
// with `--endpoint` on loopback, so nothing leaves the machine.
import { join } from "node:path";

export function offlineAwsEnv(
  scratch: string,
  credentials?: { accessKeyId: string; secretAccessKey: string },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("AWS_")) env[key] = value;
  }
  return {
    ...env,
    HOME: scratch,
    AWS_CONFIG_FILE: join(scratch, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(scratch, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_REGION: "us-east-1",
    ...(credentials
      ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }
      : {}),
  };
}

/** What a command that needs AWS says, once, in offlineAwsEnv without credentials (after "leaven CMD: "). */
export const NO_CREDENTIALS = [
  "cannot load AWS credentials for the default credential chain (no --profile, no profile: in leaven.yaml, no AWS_PROFILE): CredentialsProviderError: Could not load credentials from any providers",
  "The AWS SDK looked in the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE), the shared files (~/.aws/credentials,",
  "~/.aws/config), SSO, web identity and the instance role. Nothing was observed or changed. To fix it:",
  "  aws configure list                   # what the AWS CLI finds",
  "  aws sso login --profile NAME         # when the profile signs in with SSO and its session expired",
  "  --profile NAME, or AWS_PROFILE=NAME  # to use another profile (or profile: NAME in leaven.yaml)",
].join("\n");
