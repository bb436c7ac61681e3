// A failed bake's record: an EC2 launch template per failed build in its home region, which outlives the
// terminated bake instance (EC2 forgets those an hour after termination). Its tags say why the bake
// failed and what the console showed; its data relaunches the very bake for debugging. This module is
// the record's contract: its name, its idempotency token and its tags, written by the planner and read
// back by the observer (see docs/architecture.md, "Failure records").
import { createHash } from "node:crypto";
import { Tag } from "./tags.ts";

/** The leaven.dev/role of a failure record. */
export const FAILURE_ROLE = "failure";

/** One tag per console line: leaven.dev/console/01 … /10, oldest first. */
export const CONSOLE_TAG_PREFIX = "leaven.dev/console/";

/** As many console lines as the status shows (CONSOLE_TAIL_LINES), each one tag. */
export const FAILURE_CONSOLE_LINES = 10;

/** EC2's limit on a tag value. */
const TAG_VALUE_LIMIT = 256;

/** EC2's launch template names: 3–128 letters, digits and ( ) . - / _. */
const NAME_PATTERN = /^[a-zA-Z0-9().\-/_]{3,128}$/;

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * `leaven-failed-<spec>-<build with + as _>`: one record per build and region (EC2 keeps names unique).
 * A build id too long for EC2's 128 characters is named by its hash instead.
 */
export function failureRecordName(spec: string, build: string): string {
  const name = `leaven-failed-${spec}-${build.replaceAll("+", "_")}`;
  return NAME_PATTERN.test(name) ? name : `leaven-failed-${spec}-${sha256(build).slice(0, 16)}`;
}

/** CreateLaunchTemplate's ClientToken (≤ 128 ASCII): one per failed bake attempt, i.e. per instance. */
export function failureRecordToken(spec: string, build: string, instanceId: string): string {
  return `leaven-failure-${sha256(`${spec}/${build}/${instanceId}`).slice(0, 40)}`;
}

export function consoleTag(line: number): string {
  return `${CONSOLE_TAG_PREFIX}${String(line).padStart(2, "0")}`;
}

/** A tag value EC2 accepts: no control characters, at most 256 characters (a surrogate pair is not split). */
export function tagValue(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, " ");
  if (clean.length <= TAG_VALUE_LIMIT) return clean;
  const cut = clean.slice(0, TAG_VALUE_LIMIT);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export interface FailureFacts {
  reason: string;
  /** ISO 8601. */
  at: string;
  instanceId: string;
  /** The last console lines before the failure; only the last ten are kept. */
  console?: readonly string[];
}

/** The record's own tags (beside the build's owner and lineage tags): the outcome, when, and the console. */
export function failureTags(facts: FailureFacts): Record<string, string> {
  const tags: Record<string, string> = {
    [Tag.role]: FAILURE_ROLE,
    [Tag.bakeResult]: "failed",
    [Tag.bakeReason]: tagValue(facts.reason),
    [Tag.failedAt]: facts.at,
    [Tag.failedInstance]: facts.instanceId,
  };
  const lines = (facts.console ?? []).slice(-FAILURE_CONSOLE_LINES);
  lines.forEach((line, index) => {
    tags[consoleTag(index + 1)] = tagValue(line);
  });
  return tags;
}

/** Reads the facts back from a record's tags; the console lines in order, however many there are. */
export function readFailureTags(tags: Readonly<Record<string, string>>): Partial<FailureFacts> & {
  console: string[];
} {
  const console = Object.keys(tags)
    .filter((key) => key.startsWith(CONSOLE_TAG_PREFIX))
    .sort()
    .map((key) => tags[key]!);
  return {
    ...(tags[Tag.bakeReason] !== undefined ? { reason: tags[Tag.bakeReason] } : {}),
    ...(tags[Tag.failedAt] !== undefined ? { at: tags[Tag.failedAt] } : {}),
    ...(tags[Tag.failedInstance] !== undefined ? { instanceId: tags[Tag.failedInstance] } : {}),
    console,
  };
}
