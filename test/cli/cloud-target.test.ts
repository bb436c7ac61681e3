// Choosing the cloud: flags, leaven.yaml beside the specs, and the exact errors for bad values.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  AWKWARD_BANNER,
  type CloudTarget,
  KIND_BANNER,
  openCloud,
} from "../../controller/cli/cloud-target.ts";
import { UserError } from "../../controller/cli/command.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { tempDir } from "../support/temp-dir.ts";

const opened: CloudTarget[] = [];
afterEach(async () => {
  for (const target of opened.splice(0)) await target.close();
});

/** A scratch checkout: `root/specs/leaven.yaml` with the given content (none when undefined). */
function checkout(config?: string): string {
  const root = tempDir("leaven-target-");
  mkdirSync(join(root, "specs"));
  if (config !== undefined) writeFileSync(join(root, "specs", "leaven.yaml"), config);
  return root;
}

async function open(values: Record<string, string | string[] | boolean>, root: string): Promise<CloudTarget> {
  const target = await openCloud(values, ["specs"], root, silentLogger);
  opened.push(target);
  return target;
}

function simBanner(
  target: CloudTarget,
  statePath: string,
  speed: number,
  bakeSeconds: number,
  awkward = true,
): string {
  return (
    `Cloud: embedded EC2 simulator at ${target.simulator!.endpoint} — not AWS. State: ${statePath}.\n` +
    `       Its clock runs ${speed}x faster than AWS's (a 5-minute bake takes ${bakeSeconds} s); --cloud aws targets AWS.\n` +
    `       ${awkward ? AWKWARD_BANNER : KIND_BANNER}`
  );
}

/** Runs `body` with these environment variables set (undefined: unset), then puts the environment back. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(vars);
  try {
    return await body();
  } finally {
    apply(saved);
  }
}

describe("openCloud", () => {
  it("starts the embedded simulator awkward, unless --no-sim-awkward or leaven.yaml says otherwise", async () => {
    const root = checkout("cloud: sim\nsim: { state: x.json, speed: 600 }\n");
    const awkward = await open({}, root);
    expect(awkward.simulator?.awkward.console).toBe(true);
    const kind = await open({ "no-sim-awkward": true }, root);
    expect(kind.simulator?.awkward.console).toBe(false);
    expect(kind.banner).toBe(simBanner(kind, join(root, "specs", "x.json"), 600, 1, false));
    const configured = await open({}, checkout("cloud: sim\nsim: { state: y.json, awkward: false }\n"));
    expect(configured.simulator?.awkward.consistency).toBe(false);
    await expect(open({ "sim-awkward": true, "no-sim-awkward": true }, root)).rejects.toThrow(
      "--sim-awkward and --no-sim-awkward contradict each other; pass one.",
    );
  });

  it("takes the cloud, the state file (relative to leaven.yaml) and the speed from leaven.yaml", async () => {
    const root = checkout("cloud: sim\nsim: { state: x.json, speed: 600 }\n");
    const target = await open({}, root);
    const statePath = join(root, "specs", "x.json");
    expect(target.kind).toBe("sim");
    expect(target.banner).toBe(simBanner(target, statePath, 600, 1));
    expect(target.simulator?.statePath).toBe(statePath);
    expect(existsSync(statePath)).toBe(true);
    expect(target.clock).toBe(target.simulator?.clock);
  });

  it("lets flags override leaven.yaml; a flag's path is relative to the working directory", async () => {
    const root = checkout("cloud: sim\nsim: { state: x.json, speed: 600 }\n");
    const target = await open({ "sim-state": "other.json", "sim-speed": "120" }, root);
    expect(target.banner).toBe(simBanner(target, join(root, "other.json"), 120, 3));
  });

  it("keeps the simulator state beside the specs by default, in a .leaven folder git ignores", async () => {
    const root = checkout();
    const target = await open({}, root);
    expect(target.banner).toBe(simBanner(target, join(root, "specs", ".leaven", "sim-state.json"), 60, 5));
    expect(readFileSync(join(root, "specs", ".leaven", ".gitignore"), "utf8")).toBe("*\n");
  });

  it("leaves a .gitignore the user wrote in .leaven alone", async () => {
    const root = checkout();
    mkdirSync(join(root, "specs", ".leaven"));
    writeFileSync(join(root, "specs", ".leaven", ".gitignore"), "sim-state.json\n");
    await open({}, root);
    expect(readFileSync(join(root, "specs", ".leaven", ".gitignore"), "utf8")).toBe("sim-state.json\n");
  });

  it("refuses a leaven.yaml that does not name the cloud, unless --cloud does", async () => {
    const root = checkout("profile: images-admin\n");
    await expect(open({}, root)).rejects.toThrow(
      "specs/leaven.yaml:1:1 missing cloud: say where the images of these specs live, `cloud: aws` (your AWS account) or `cloud: simulator` (the embedded EC2 simulator: nothing real is created)",
    );
    const target = await open({ cloud: "simulator", "sim-state": "s.json" }, root);
    expect(target.kind).toBe("sim");
  });

  it("takes cloud: simulator to mean the embedded simulator", async () => {
    const target = await open({}, checkout("cloud: simulator\n"));
    expect(target.kind).toBe("sim");
    expect(target.simulator).toBeDefined();
  });

  it("selects AWS from leaven.yaml without contacting it", async () => {
    const root = checkout("cloud: aws\nprofile: ci-images\n");
    // The profile's credentials, from a scratch shared-credentials file: resolved, but no request is sent.
    writeFileSync(
      join(root, "credentials"),
      "[ci-images]\naws_access_key_id = AKIDLEAVENTEST\naws_secret_access_key = not-a-secret\n",
    );
    const target = await withEnv({ AWS_SHARED_CREDENTIALS_FILE: join(root, "credentials") }, () =>
      open({}, root),
    );
    expect(target.kind).toBe("aws");
    expect(target.banner).toBe("Cloud: AWS (profile ci-images)");
    expect(target.where).toBe("on AWS / profile ci-images");
    expect(target.simulator).toBeUndefined();
    expect(target.adapter.stats().requests).toBe(0);
  });

  it("names the account when the credentials say which it is", async () => {
    const target = await withEnv(
      {
        AWS_ACCESS_KEY_ID: "AKIDLEAVENTEST",
        AWS_SECRET_ACCESS_KEY: "not-a-secret",
        AWS_ACCOUNT_ID: "111122223333",
      },
      () => open({ cloud: "aws" }, checkout()),
    );
    expect(target.banner).toBe("Cloud: AWS account 111122223333");
    expect(target.where).toBe("on AWS account 111122223333");
  });

  it("refuses to open AWS without credentials, once, with the fixes", async () => {
    const root = checkout();
    writeFileSync(join(root, "empty"), "");
    const error = await withEnv(
      {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
        AWS_SHARED_CREDENTIALS_FILE: join(root, "empty"),
        AWS_CONFIG_FILE: join(root, "empty"),
        AWS_EC2_METADATA_DISABLED: "true",
      },
      () => open({ cloud: "aws", profile: "images-admin" }, root),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message.split("\n")).toEqual([
      'cannot load AWS credentials for profile "images-admin": CredentialsProviderError: Could not load credentials from any providers',
      "The AWS SDK looked in the environment (AWS_ACCESS_KEY_ID, AWS_PROFILE), the shared files (~/.aws/credentials,",
      "~/.aws/config), SSO, web identity and the instance role. Nothing was observed or changed. To fix it:",
      "  aws configure list --profile images-admin  # what the AWS CLI finds for the profile",
      "  aws sso login --profile images-admin       # when the profile signs in with SSO and its session expired",
      "  --profile NAME, or AWS_PROFILE=NAME        # to use another profile (or profile: NAME in leaven.yaml)",
    ]);
  });

  it("passes --fault flags to the simulator", async () => {
    const target = await open({ fault: ["bake-hang=base", "throttle=0.25"] }, checkout());
    expect(target.simulator?.faults()).toEqual({
      bakeHang: { specs: ["base"], builds: ["base"] },
      throttleRate: 0.25,
    });
  });

  it.each([
    [{ cloud: "gcp" }, '--cloud must be aws or simulator (sim for short), not "gcp".'],
    [
      { fault: ["bad=1"] },
      '--fault bad=1: unknown fault "bad". Use bake-fail=SPEC, volume-bake-fail=SPEC, bake-hang=SPEC, smoke-fail=SPEC, 5xx=RATE, lost-response=RATE, throttle=RATE, noisy-neighbour=RATE or latency=50ms.',
    ],
    [{ fault: ["5xx=2"] }, "--fault 5xx=2: expected a rate between 0 and 1, e.g. 5xx=0.1."],
    [{ "sim-speed": "0" }, '--sim-speed must be a positive number, not "0".'],
  ])("rejects %j with a UserError", async (values, message) => {
    const error = await openCloud(values, ["specs"], checkout(), silentLogger).then(
      (target) => {
        opened.push(target);
        throw new Error("expected openCloud to fail");
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(message);
  });
});
