// Checks within one spec that JSON Schema cannot express: layer rules, semver, build ids, regions,
// durations and selectors. Written defensively: they run on documents the schema may also reject, so
// that every problem is reported in one pass.
import semver from "semver";
import { CronError, nextFire, parseCron } from "../schedule/cron.ts";
import { isTimeZone, timeZoneNames } from "../schedule/time-zone.ts";
import type { FieldPath } from "../sources/source-document.ts";
import { BUILD_ID_EXPECTED, isBuildId } from "./build-id.ts";
import { DURATION_PATTERN, parseDuration } from "./durations.ts";
import { type Fields, fields, type Problem, text } from "./problem.ts";
import { closestRegion, isAwsRegion } from "./regions.ts";
import { show } from "./schema-messages.ts";
import { SEMVER_PATTERN } from "./semantic-version.ts";
import { didYouMean } from "./suggest.ts";
import { checkUserDataSize } from "./user-data-size.ts";

const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const ACCOUNT_ID = /^[0-9]{12}$/;
const OWNER_ALIASES = ["amazon", "aws-marketplace", "self"];
const BAKED_ONLY = ["version", "provision", "bake", "rebuild", "checks"] as const;

export function checkSpecRules(document: unknown): Problem[] {
  const spec = fields(fields(document)?.spec);
  if (spec === undefined) return [];
  const problems: Problem[] = [];
  const layer = text(spec.layer);
  checkLayer(spec, layer, problems);
  checkSource(spec, problems);
  checkVersion(spec, problems);
  const regions = checkRegions(spec, problems);
  checkBake(spec, problems);
  checkRebuild(spec, problems);
  checkProvisionSources(spec, problems);
  checkChecks(spec, problems);
  checkRetention(spec, problems);
  checkChannels(spec, layer, problems);
  checkRevoked(spec, layer, problems);
  checkKmsKeys(spec, regions, problems);
  checkUserDataSize(document, problems);
  return problems;
}

function checkLayer(spec: Fields, layer: string | undefined, problems: Problem[]): void {
  if (layer === "foundation") {
    if (spec.source === undefined) {
      problems.push({
        path: ["spec", "source"],
        target: "value",
        message: "a foundation needs a source: owners and name, or ssmParameter",
      });
    }
    if (spec.parent !== undefined) {
      problems.push({
        path: ["spec", "parent"],
        target: "key",
        message: "a foundation has no parent (it selects a vendor AMI); remove parent, or use layer base",
      });
    }
    for (const field of BAKED_ONLY) {
      if (spec[field] === undefined) continue;
      problems.push({
        path: ["spec", field],
        target: "key",
        message: `a foundation is never baked, so it takes no ${field}; remove it, or use layer base`,
      });
    }
  } else if (layer === "base" || layer === "app") {
    const aLayer = layer === "app" ? "an app" : "a base";
    if (spec.source !== undefined) {
      problems.push({
        path: ["spec", "source"],
        target: "key",
        message: `only a foundation takes a source; ${aLayer} is baked on its parent, so remove source`,
      });
    }
    if (spec.parent === undefined) {
      const example =
        layer === "base" ? "{ spec: ubuntu-jammy, channel: release }" : "{ spec: base, channel: release }";
      problems.push({
        path: ["spec", "parent"],
        target: "value",
        message: `${aLayer} needs a parent to bake on, e.g. ${example}`,
      });
    }
    if (spec.version === undefined) {
      problems.push({
        path: ["spec", "version"],
        target: "value",
        message: `${aLayer} needs a version (semver, e.g. 1.0.0)`,
      });
    }
  }
}

function checkSource(spec: Fields, problems: Problem[]): void {
  const source = fields(spec.source);
  if (source === undefined) return;
  const hasOwners = source.owners !== undefined;
  const hasName = source.name !== undefined;
  if (source.ssmParameter !== undefined) {
    if (hasOwners || hasName) {
      problems.push({
        path: ["spec", "source", "ssmParameter"],
        target: "key",
        message: "set either ssmParameter or owners and name, not both",
      });
    }
  } else if (hasOwners && !hasName) {
    problems.push({
      path: ["spec", "source", "name"],
      target: "value",
      message:
        "owners needs a name pattern too, e.g. ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
    });
  } else if (hasName && !hasOwners) {
    problems.push({
      path: ["spec", "source", "owners"],
      target: "value",
      message: "a name pattern needs owners too: account ids or aliases such as amazon",
    });
  } else if (!hasOwners && !hasName) {
    problems.push({
      path: ["spec", "source"],
      target: "value",
      message: "set owners and name, or ssmParameter",
    });
  }
  if (Array.isArray(source.owners)) {
    source.owners.forEach((owner, i) => {
      if (typeof owner !== "string" || ACCOUNT_ID.test(owner) || OWNER_ALIASES.includes(owner)) return;
      problems.push({
        path: ["spec", "source", "owners", i],
        target: "value",
        message: `${show(owner)} is not an account id or owner alias (expected 12 digits, or ${OWNER_ALIASES.join(", ")})`,
      });
    });
  }
}

function checkVersion(spec: Fields, problems: Problem[]): void {
  const version = text(spec.version);
  // A malformed version is the schema's to report (its pattern); these are the versions it lets through.
  if (version === undefined || !SEMVER_PATTERN.test(version)) return;
  const plus = version.indexOf("+");
  if (plus !== -1) {
    // A build id is VERSION+HASH, split at its last "+", and AMI names replace only one "+": a second
    // one would make build ids that do not parse and image names EC2 refuses.
    problems.push({
      path: ["spec", "version"],
      target: "value",
      message: `${show(version)} carries build metadata (${version.slice(plus)}), but Leaven appends its own +HASH to make each build id; remove it, e.g. ${version.slice(0, plus)}`,
    });
    return;
  }
  // The semver package refuses numbers past 2^53 and strings over 256 characters, and the planner
  // compares versions with it, so such a version would have no order.
  if (semver.valid(version) === version) return;
  problems.push({
    path: ["spec", "version"],
    target: "value",
    message: `${show(version)} is too large to compare as a version (numbers up to ${Number.MAX_SAFE_INTEGER}, at most 256 characters)`,
  });
}

function checkRegions(spec: Fields, problems: Problem[]): string[] {
  if (!Array.isArray(spec.regions)) return [];
  const regions: string[] = [];
  spec.regions.forEach((region, i) => {
    if (typeof region !== "string") return;
    regions.push(region);
    if (isAwsRegion(region)) return;
    problems.push({
      path: ["spec", "regions", i],
      target: "value",
      message: `${show(region)} is not an AWS region; did you mean "${closestRegion(region)}"?`,
    });
  });
  return regions;
}

function checkBake(spec: Fields, problems: Problem[]): void {
  const bake = fields(spec.bake);
  // What only the instance method does: a volume bake would silently ignore it.
  if (text(bake?.method) === "volume")
    for (const field of [
      "instanceType",
      "subnetId",
      "securityGroupIds",
      "instanceProfile",
      "keepFailedInstance",
    ])
      if (bake?.[field] !== undefined)
        problems.push({
          path: ["spec", "bake", field],
          target: "key",
          message: `bake.${field} applies to the instance method only; a volume bake runs on the bakery host (leaven.yaml bakery): remove ${field}, or set bake.method: instance`,
        });
  const timeout = text(bake?.timeout);
  if (timeout === undefined || !DURATION_PATTERN.test(timeout) || parseDuration(timeout) > 0) return;
  problems.push({
    path: ["spec", "bake", "timeout"],
    target: "value",
    message: `${show(timeout)} is not a positive duration; a bake needs time to run, e.g. 30m`,
  });
}

/** A file is written from content or fetched from S3; a playbook comes from git or S3: exactly one each. */
function checkProvisionSources(spec: Fields, problems: Problem[]): void {
  const provision = fields(spec.provision);
  if (provision === undefined) return;
  const files = Array.isArray(provision.files) ? provision.files : [];
  files.forEach((file, i) => {
    const f = fields(file);
    if (f !== undefined)
      checkExactlyOne(
        ["content", "s3"],
        (k) => f[k] !== undefined,
        ["spec", "provision", "files", i],
        problems,
      );
  });
  const ansible = fields(provision.ansible);
  if (ansible !== undefined)
    checkExactlyOne(
      ["repository", "s3"],
      (k) => ansible[k] !== undefined,
      ["spec", "provision", "ansible"],
      problems,
    );
}

/** A bake takes minutes and each build is kept by retention: more than one window an hour is a mistake. */
const MIN_REBUILD_MS = 3_600_000;
/** Any schedule fires within 8 years of any time (29 February included): one that does not never will. */
const NEVER_AFTER = Date.UTC(2000, 0, 1);

function checkRebuild(spec: Fields, problems: Problem[]): void {
  const rebuild = fields(spec.rebuild);
  if (rebuild === undefined) return;
  const path = ["spec", "rebuild"];
  checkExactlyOne(["every", "cron"], (f) => rebuild[f] !== undefined, path, problems);
  const every = durationMs(rebuild.every);
  if (every !== undefined && every < MIN_REBUILD_MS)
    problems.push({
      path: [...path, "every"],
      target: "value",
      message: `${show(rebuild.every)} is shorter than 1h; a scheduled rebake bakes and keeps a build per window, e.g. every: 14d`,
    });
  const zone = text(rebuild.timezone);
  if (rebuild.timezone !== undefined && rebuild.cron === undefined)
    problems.push({
      path: [...path, "timezone"],
      target: "key",
      message: "timezone applies to cron only (every: windows are aligned to UTC); remove it, or use cron",
    });
  else if (zone !== undefined && !isTimeZone(zone))
    problems.push({
      path: [...path, "timezone"],
      target: "value",
      message: `${show(zone)} is not an IANA time zone (e.g. Europe/Warsaw, UTC)${didYouMean(zone, timeZoneNames())}`,
    });
  const cron = text(rebuild.cron);
  if (cron === undefined) return;
  try {
    const parsed = parseCron(cron);
    if (parsed.minutes.length > 1)
      problems.push({
        path: [...path, "cron"],
        target: "value",
        message: `${show(cron)} fires more than once an hour; name one minute, e.g. "0 3 * * MON"`,
      });
    else if (nextFire(parsed, "UTC", NEVER_AFTER) === undefined)
      problems.push({
        path: [...path, "cron"],
        target: "value",
        message: `${show(cron)} never fires (no such day); check the day of month and the month`,
      });
  } catch (error) {
    if (!(error instanceof CronError)) throw error;
    problems.push({ path: [...path, "cron"], target: "value", message: error.message });
  }
}

function checkChecks(spec: Fields, problems: Problem[]): void {
  const timeout = text(fields(fields(spec.checks)?.smoke)?.timeout);
  if (timeout === undefined || !DURATION_PATTERN.test(timeout) || parseDuration(timeout) > 0) return;
  problems.push({
    path: ["spec", "checks", "smoke", "timeout"],
    target: "value",
    message: `${show(timeout)} is not a positive duration; a check needs time to boot and run, e.g. 10m`,
  });
}

function checkRetention(spec: Fields, problems: Problem[]): void {
  const retention = fields(spec.retention);
  if (retention === undefined) return;
  checkPositive(retention.deprecateAfter, ["spec", "retention", "deprecateAfter"], "14d", problems);
  checkPositive(retention.deregisterAfter, ["spec", "retention", "deregisterAfter"], "30d", problems);
  const deprecate = durationMs(retention.deprecateAfter);
  const deregister = durationMs(retention.deregisterAfter);
  if (deprecate === undefined || deregister === undefined || deregister >= deprecate) return;
  problems.push({
    path: ["spec", "retention", "deregisterAfter"],
    target: "value",
    message:
      `${String(retention.deregisterAfter)} is shorter than deprecateAfter ${String(retention.deprecateAfter)}; ` +
      `images are deprecated before they are deregistered, so use at least ${String(retention.deprecateAfter)}`,
  });
}

function checkChannels(spec: Fields, layer: string | undefined, problems: Problem[]): void {
  const channels = fields(spec.channels);
  if (channels === undefined) return;
  for (const [name, value] of Object.entries(channels)) {
    const selector = fields(value);
    if (selector === undefined) continue;
    const at = (field?: string): Array<string> =>
      field === undefined ? ["spec", "channels", name] : ["spec", "channels", name, field];
    // latest: false selects nothing; any other value (even a wrong type, which the schema reports)
    // was meant as a choice, so it must not also be reported as "found none".
    const set = (field: string): boolean =>
      field === "latest"
        ? selector.latest !== undefined && selector.latest !== false
        : selector[field] !== undefined;
    if (layer === "foundation") {
      for (const field of ["build", "version", "follow", "parentIn", "requires"]) {
        if (!set(field)) continue;
        problems.push({
          path: at(field),
          target: "key",
          message:
            field === "parentIn"
              ? "a foundation has no parent, so its channels take no parentIn"
              : field === "requires"
                ? "a foundation is not baked, so there is nothing for its channels to require checks of"
                : `a foundation channel selects a vendor AMI: use latest or image, not ${field}`,
        });
      }
      checkExactlyOne(["latest", "image"], set, at(), problems);
    } else if (layer === "base" || layer === "app") {
      if (set("image")) {
        problems.push({
          path: at("image"),
          target: "key",
          message:
            "image selects a vendor AMI, so only a foundation channel takes it; use latest, build or version",
        });
      }
      checkExactlyOne(["latest", "build", "version", "follow"], set, at(), problems);
      const checks = fields(spec.checks) ?? {};
      for (const check of Array.isArray(selector.requires) ? selector.requires : []) {
        if (typeof check !== "string" || checks[check] !== undefined) continue;
        problems.push({
          path: at("requires"),
          target: "value",
          message: `requires the ${check} check, but this spec declares no checks.${check}; add it under spec.checks`,
        });
      }
      const follow = text(selector.follow);
      if (follow !== undefined && follow === name) {
        problems.push({
          path: at("follow"),
          target: "value",
          message: `channel ${name} cannot follow itself; name another channel of this spec, e.g. candidate`,
        });
      } else if (follow !== undefined && !Object.hasOwn(channels, follow)) {
        const others = Object.keys(channels).filter((c) => c !== name);
        problems.push({
          path: at("follow"),
          target: "value",
          message: `this spec has no channel "${follow}" (${others.length === 0 ? "it has no other channels" : `its other channels: ${others.join(", ")}`})${didYouMean(follow, others)}`,
        });
      }
    }
    const build = text(selector.build);
    if (build !== undefined && !isBuildId(build)) {
      problems.push({
        path: at("build"),
        target: "value",
        message: `${show(build)} is not a build id (expected ${BUILD_ID_EXPECTED})`,
      });
    }
    const range = text(selector.version);
    if (range !== undefined && semver.validRange(range) === null) {
      problems.push({
        path: at("version"),
        target: "value",
        message: `${show(range)} is not a semver range (expected e.g. ^1.14.0, ~2.3 or >=1.0.0 <2.0.0)`,
      });
    }
    const image = text(selector.image);
    if (image !== undefined && !AMI_ID.test(image)) {
      problems.push({
        path: at("image"),
        target: "value",
        message: `${show(image)} is not an AMI id (expected ami- and 8 to 17 hex digits, e.g. ami-0abcdef1234567890)`,
      });
    }
    if (selector.minAge !== undefined) {
      checkPositive(selector.minAge, at("minAge"), "7d", problems);
      const exact = set("build") ? "build" : set("image") ? "image" : undefined;
      // minAge with follow means "this long in the followed channel": meaningful, no warning.
      if (exact !== undefined) {
        problems.push({
          path: at("minAge"),
          target: "key",
          severity: "warning",
          message: `minAge has no effect with ${exact}; it narrows latest and version`,
        });
      }
    }
  }
}

function checkRevoked(spec: Fields, layer: string | undefined, problems: Problem[]): void {
  const revoked = spec.revoked;
  if (!Array.isArray(revoked)) return;
  const seen = new Map<string, number>();
  revoked.forEach((entry, index) => {
    const build = text(fields(entry)?.build);
    if (build === undefined) return;
    const at = ["spec", "revoked", index, "build"];
    if ((layer === "base" || layer === "app") && !isBuildId(build)) {
      problems.push({
        path: at,
        target: "value",
        message: `${show(build)} is not a build id (expected ${BUILD_ID_EXPECTED})`,
      });
    }
    const first = seen.get(build);
    if (first !== undefined) {
      problems.push({
        path: at,
        target: "value",
        message: `${show(build)} is already revoked by entry ${first + 1}; list each build once`,
      });
    } else seen.set(build, index);
  });
}

function checkExactlyOne(
  choices: string[],
  set: (field: string) => boolean,
  path: FieldPath,
  problems: Problem[],
): void {
  const found = choices.filter(set);
  if (found.length === 1) return;
  const what = found.length === 0 ? "none" : found.join(" and ");
  problems.push({
    path,
    target: "value",
    message: `set exactly one of ${choices.join(", ")} (found ${what})`,
  });
}

function checkKmsKeys(spec: Fields, regions: string[], problems: Problem[]): void {
  const keys = fields(fields(spec.share)?.kmsKeys);
  if (keys === undefined) return;
  for (const region of Object.keys(keys)) {
    if (regions.includes(region)) continue;
    problems.push({
      path: ["spec", "share", "kmsKeys", region],
      target: "key",
      message: `region "${region}" is not one of this spec's regions (${regions.join(", ")}); add it to regions or remove this key`,
    });
  }
}

function checkPositive(value: unknown, path: string[], example: string, problems: Problem[]): void {
  const ms = durationMs(value);
  if (ms === undefined || ms > 0) return;
  problems.push({
    path,
    target: "value",
    message: `${show(value)} is not a positive duration (e.g. ${example})`,
  });
}

function durationMs(value: unknown): number | undefined {
  return typeof value === "string" && DURATION_PATTERN.test(value) ? parseDuration(value) : undefined;
}
