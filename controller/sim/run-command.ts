// SSM Run Command for volume bakes: SendCommand with AWS-RunShellScript and GetCommandInvocation, on the SSM
// endpoint (ssm.ts). The simulated command is picked up after `commandPickup`, runs `volumeBakeScript`, and
// prints what the chroot script would: when the script declares a build (`LEAVEN_BUILD_ID=`, the bake marker
// protocol of api/bake-protocol.ts) its standard output ends with the marker, the failure marker when
// `--fault volume-bake-fail=SPEC` names the spec or build; otherwise it simply succeeds with no output.
//
// A successful bake's stdout carries, after the marker, the package manifest the chroot script prints (the
// parent image's packages and what the script installs, manifests.ts), as the real script does. With
// OutputS3BucketName the agent writes the whole stdout and stderr to S3 once the command ends, at AWS's
// layout KEYPREFIX/COMMAND/INSTANCE/awsrunShellScript/0.awsrunShellScript/{stdout,stderr}; the simulator
// delivers them when S3 is next asked (deliverCommandOutputs), to a bucket of the command's account only (the
// agent's upload fails otherwise, and the command's status does not change, as on AWS).
//
// Under awkward consistency a new command is missing from ListCommands, and GetCommandInvocation answers
// InvocationDoesNotExist for it, for up to consistencyLagMs (consistency.ts), as SSM may do right after SendCommand.
//
// "Managed" instances: SSM only reaches an instance whose agent has registered, which needs an instance profile
// allowing it. The simulator treats every running instance launched with an instance profile as managed; any
// other instance is InvalidInstanceId, as SSM answers for an instance it does not manage.

import { buildIdFromUserData, formatBakeMarker } from "../api/bake-protocol.ts";
import { commandOutputKey, manifestConsoleLines } from "../api/package-manifest.ts";
import { Tag } from "../api/tags.ts";
import { isVisible, visibleFrom } from "./consistency.ts";
import { SimError } from "./errors.ts";
import { volumeBakeBehaviour } from "./faults.ts";
import { instanceState } from "./instances.ts";
import { bakeManifest, simManifestBody } from "./manifests.ts";
import { SIM_ACCOUNT_ID } from "./regions.ts";
import { etagOf } from "./s3.ts";
import type { Json, SsmContext, SsmHandler } from "./ssm.ts";
import type { RegionState, SimCommand, SimVolume, World } from "./world.ts";

export const RUN_SHELL_SCRIPT = "AWS-RunShellScript";
/** SSM keeps the first 24,000 characters of a command's standard output in GetCommandInvocation. */
export const COMMAND_OUTPUT_LIMIT = 24_000;
/** AWS-RunShellScript's executionTimeout default, in seconds. */
const DEFAULT_EXECUTION_TIMEOUT = 3600;
const SPEC_ASSIGNMENT = "LEAVEN_SPEC=";

function invalid(code: string, message: string): SimError {
  return new SimError(code, message);
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
    throw invalid("ValidationException", `${what} must be a list of strings.`);
  return value as string[];
}

/** The script's `LEAVEN_SPEC=` assignment (quotes removed), as the instance bake's user data has one. */
export function specFromScript(script: string): string | undefined {
  for (const line of script.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith(SPEC_ASSIGNMENT))
      return trimmed.slice(SPEC_ASSIGNMENT.length).replace(/^["']|["']$/g, "");
  }
  return undefined;
}

/** The script's `LEAVEN_VOLUME_ID=` assignment: the volume the chroot script bakes. */
function volumeIdFromScript(script: string): string | undefined {
  return /^LEAVEN_VOLUME_ID='?(vol-[0-9a-f]+)'?$/m.exec(script)?.[1];
}

/**
 * The manifest lines the chroot script prints after its success marker: the volume's parent plus the script's
 * packages. The body is left on the volume, for the snapshot and the image made from it.
 */
function chrootManifestLines(
  region: RegionState,
  world: World,
  regionName: string,
  volume: SimVolume | undefined,
  build: string,
  script: string,
): string[] {
  if (!volume?.snapshotId) return [];
  const parent = [...region.images.values()].find((i) => i.snapshotIds[0] === volume.snapshotId);
  if (!parent) return [];
  const manifest = bakeManifest(world, regionName, {
    buildId: build,
    imageId: parent.imageId,
    userData: script,
  });
  if (!manifest) return [];
  volume.packages = simManifestBody(manifest);
  return manifestConsoleLines(build, volume.packages);
}

/** The command's status at `now`. */
export function commandStatus(command: SimCommand, now: number): string {
  if (now < command.startedAt) return "Pending";
  if (command.timeoutAt < command.doneAt && now >= command.timeoutAt) return "TimedOut";
  if (now < command.doneAt) return "InProgress";
  return command.result === "success" ? "Success" : "Failed";
}

function isoSeconds(at: number): string {
  return new Date(at).toISOString();
}

function sendCommand(ctx: SsmContext): Json {
  const { body, now, world } = ctx;
  const document = body.DocumentName;
  if (typeof document !== "string" || document.length === 0)
    throw invalid("ValidationException", "DocumentName must be given.");
  if (document !== RUN_SHELL_SCRIPT)
    throw invalid(
      "InvalidDocument",
      `Document ${document} does not exist in the simulator; use ${RUN_SHELL_SCRIPT}.`,
    );
  const instanceIds = stringList(body.InstanceIds, "InstanceIds");
  if (instanceIds.length === 0 || instanceIds.length > 50)
    throw invalid(
      "ValidationException",
      "InstanceIds must name 1 to 50 instances (Targets are not simulated).",
    );
  const parameters = (body.Parameters ?? {}) as Record<string, unknown>;
  const commands = stringList(parameters.commands, "Parameters.commands");
  if (commands.length === 0) throw invalid("InvalidParameters", "Parameters.commands must not be empty.");
  const timeoutParam = parameters.executionTimeout;
  const timeoutSeconds =
    timeoutParam === undefined
      ? DEFAULT_EXECUTION_TIMEOUT
      : Number(stringList(timeoutParam, "executionTimeout")[0]);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 172_800)
    throw invalid(
      "InvalidParameters",
      "executionTimeout must be a whole number of seconds from 1 to 172800.",
    );
  const outputBucket = body.OutputS3BucketName;
  const outputPrefix = body.OutputS3KeyPrefix ?? "";
  if (
    (outputBucket !== undefined && (typeof outputBucket !== "string" || outputBucket === "")) ||
    typeof outputPrefix !== "string" ||
    outputPrefix.length > 500
  )
    throw invalid(
      "ValidationException",
      "OutputS3BucketName must be a bucket name and OutputS3KeyPrefix a string of at most 500 characters.",
    );
  const comment = body.Comment;
  if (comment !== undefined && (typeof comment !== "string" || comment.length > 100))
    throw invalid("ValidationException", "Comment must be a string of at most 100 characters.");
  const region = world.accountRegion(ctx.account, ctx.region);
  const unmanaged = instanceIds.filter((id) => {
    const instance = region.instances.get(id);
    return !instance || instanceState(instance, now) !== "running" || !instance.iamInstanceProfile;
  });
  if (unmanaged.length > 0) {
    throw invalid(
      "InvalidInstanceId",
      `Instances [[${unmanaged.join(", ")}]] not in a valid state for account ${ctx.account}: SSM reaches only running instances whose agent is registered (an instance profile with AmazonSSMManagedInstanceCore).`,
    );
  }
  const script = commands.join("\n");
  const build = buildIdFromUserData(script);
  const commandId = world.newId("cmd");
  const startedAt = now + world.timings.commandPickup;
  const visibleAt = visibleFrom(ctx);
  for (const instanceId of instanceIds) {
    const attached = [...region.volumes.values()].filter(
      (v) => v.attachment?.instanceId === instanceId && v.attachment.detachedAt === undefined,
    );
    const spec = specFromScript(script) ?? attached.map((v) => v.tags[Tag.spec]).find((s) => s !== undefined);
    let result: SimCommand["result"] = "success";
    const lines: string[] = [];
    if (build !== undefined) {
      // The script provisions the attached volume: its next snapshot holds the changed blocks.
      for (const volume of attached) volume.written = true;
      lines.push(
        `leaven: baking build ${build} in a chroot on ${attached.map((v) => v.attachment?.device).join(", ") || "no volume"}`,
      );
      // The provisioning's own output (Faults.scriptOutputBytes), before the marker as on a real host.
      for (let n = 1, bytes = 0; bytes < (ctx.faults.scriptOutputBytes ?? 0); n++) {
        const line = `Setting up package-${String(n).padStart(6, "0")} (1.0-1) ... ${"unpacking, ".repeat(3)}done`;
        lines.push(line);
        bytes += line.length + 1;
      }
      const behaviour = volumeBakeBehaviour(ctx.faults, spec, build);
      if (behaviour.kind === "failure") {
        result = "failure";
        lines.push(`leaven: ${behaviour.reason}`);
        lines.push(formatBakeMarker({ build, result: "failure", reason: behaviour.reason }));
      } else {
        lines.push(formatBakeMarker({ build, result: "success" }));
        const named = volumeIdFromScript(script);
        const baked = attached.find((v) => v.volumeId === named) ?? attached[0];
        lines.push(...chrootManifestLines(region, world, ctx.region, baked, build, script));
      }
    }
    const command: SimCommand = {
      commandId,
      instanceId,
      documentName: document,
      commands,
      ...(typeof comment === "string" ? { comment } : {}),
      requestedAt: now,
      ...(visibleAt !== undefined ? { visibleAt } : {}),
      startedAt,
      doneAt: startedAt + (build !== undefined ? world.timings.volumeBakeScript : 1_000),
      result,
      stdout: lines.length > 0 ? `${lines.join("\n")}\n` : "",
      stderr: result === "failure" ? "failed to run commands: exit status 1\n" : "",
      timeoutAt: startedAt + timeoutSeconds * 1000,
      ...(typeof outputBucket === "string"
        ? { outputS3: { bucket: outputBucket, keyPrefix: outputPrefix } }
        : {}),
    };
    region.commands.set(`${commandId}/${instanceId}`, command);
  }
  return {
    Command: {
      CommandId: commandId,
      DocumentName: document,
      InstanceIds: instanceIds,
      Parameters: { commands, executionTimeout: [String(timeoutSeconds)] },
      ...(typeof comment === "string" ? { Comment: comment } : {}),
      ...(typeof outputBucket === "string"
        ? { OutputS3BucketName: outputBucket, OutputS3KeyPrefix: outputPrefix }
        : {}),
      Status: "Pending",
      RequestedDateTime: now / 1000,
      TargetCount: instanceIds.length,
    },
  };
}

function getCommandInvocation(ctx: SsmContext): Json {
  const { body, now } = ctx;
  const commandId = body.CommandId;
  const instanceId = body.InstanceId;
  if (typeof commandId !== "string" || typeof instanceId !== "string")
    throw invalid("ValidationException", "CommandId and InstanceId must be given.");
  const command = ctx.world.accountRegion(ctx.account, ctx.region).commands.get(`${commandId}/${instanceId}`);
  if (!command || !isVisible(command, now))
    throw invalid("InvocationDoesNotExist", `No invocation of command ${commandId} on ${instanceId}.`);
  const status = commandStatus(command, now);
  const done = status === "Success" || status === "Failed";
  const timedOut = status === "TimedOut";
  return {
    CommandId: commandId,
    InstanceId: instanceId,
    DocumentName: command.documentName,
    ...(command.comment !== undefined ? { Comment: command.comment } : {}),
    Status: status,
    StatusDetails: status,
    ResponseCode: done ? (command.result === "success" ? 0 : 1) : -1,
    ...(now >= command.startedAt ? { ExecutionStartDateTime: isoSeconds(command.startedAt) } : {}),
    ...(done || timedOut
      ? { ExecutionEndDateTime: isoSeconds(timedOut ? command.timeoutAt : command.doneAt) }
      : {}),
    StandardOutputContent: done ? command.stdout.slice(0, COMMAND_OUTPUT_LIMIT) : "",
    StandardErrorContent: done ? command.stderr.slice(0, COMMAND_OUTPUT_LIMIT) : "",
  };
}

/** ListCommands by instance, newest first, 1 to 50 a page (NextToken is the offset). */
function listCommands(ctx: SsmContext): Json {
  const { body, now } = ctx;
  const instanceId = typeof body.InstanceId === "string" ? body.InstanceId : undefined;
  const commandId = typeof body.CommandId === "string" ? body.CommandId : undefined;
  const max = body.MaxResults === undefined ? 50 : Number(body.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > 50)
    throw invalid("ValidationException", "MaxResults must be a whole number from 1 to 50.");
  const offset = typeof body.NextToken === "string" ? Number(body.NextToken) : 0;
  if (!Number.isInteger(offset) || offset < 0)
    throw invalid("InvalidNextToken", "The NextToken is not valid.");
  const commands = [...ctx.world.accountRegion(ctx.account, ctx.region).commands.values()]
    .filter(
      (c) =>
        isVisible(c, now) &&
        (instanceId === undefined || c.instanceId === instanceId) &&
        (commandId === undefined || c.commandId === commandId),
    )
    .sort((a, b) => b.requestedAt - a.requestedAt);
  const page = commands.slice(offset, offset + max);
  return {
    Commands: page.map((c) => ({
      CommandId: c.commandId,
      DocumentName: c.documentName,
      ...(c.comment !== undefined ? { Comment: c.comment } : {}),
      InstanceIds: [c.instanceId],
      Status: commandStatus(c, now),
      RequestedDateTime: c.requestedAt / 1000,
    })),
    ...(offset + max < commands.length ? { NextToken: String(offset + max) } : {}),
  };
}

/**
 * Writes the output of every command that has ended and asked for S3 output, once: the whole stdout and stderr
 * (GetCommandInvocation's 24,000-character cut does not apply), to a bucket of the command's account. A
 * command timed out wrote what it had printed. Returns whether anything changed (the world is then saved).
 */
export function deliverCommandOutputs(world: World, now: number): boolean {
  let changed = false;
  const accounts: [string, Map<string, RegionState>][] = [[SIM_ACCOUNT_ID, world.regions], ...world.accounts];
  for (const [account, regions] of accounts)
    for (const region of regions.values())
      for (const command of region.commands.values()) {
        if (!command.outputS3 || command.outputDelivered) continue;
        const status = commandStatus(command, now);
        if (status === "Pending" || status === "InProgress") continue;
        command.outputDelivered = true;
        changed = true;
        const bucket = world.s3Buckets.get(command.outputS3.bucket);
        if (!bucket || bucket.account !== account) continue;
        const at = status === "TimedOut" ? command.timeoutAt : command.doneAt;
        for (const stream of ["stdout", "stderr"] as const) {
          const text = command[stream];
          if (text === "") continue;
          const body = Buffer.from(text, "utf8");
          const key = commandOutputKey(
            command.outputS3.keyPrefix,
            command.commandId,
            command.instanceId,
            stream,
          );
          bucket.objects[key] = {
            body: body.toString("base64"),
            contentType: "text/plain; charset=utf-8",
            tags: {},
            lastModified: at,
            etag: etagOf(body),
          };
        }
      }
  return changed;
}

/** The Run Command actions, merged into the SSM service's handlers. */
export const RUN_COMMAND_HANDLERS: Readonly<Record<string, SsmHandler>> = {
  SendCommand: sendCommand,
  GetCommandInvocation: getCommandInvocation,
  ListCommands: listCommands,
};
