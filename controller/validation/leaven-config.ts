// leaven.yaml: where the specs beside it are reconciled. Checked like a spec — against a JSON Schema
// (schemas/leaven-config.schema.json), then rules the schema cannot say — and reported with the same
// file:line:column diagnostics, so a typo such as `profle:` is an error with a suggestion, not ignored.
import { Ajv, type ValidateFunction } from "ajv";
import schema from "../../schemas/leaven-config.schema.json" with { type: "json" };
import { installationProblem } from "../api/installation.ts";
import { DEFAULT_LOCK_TABLE } from "../lease/defaults.ts";
import { formatFieldPath, type SourceDocument } from "../sources/source-document.ts";
import { parseYamlDocumentsWithAst } from "../sources/yaml-documents.ts";
import { isDuration, parseDuration } from "./durations.ts";
import { fields, type Problem } from "./problem.ts";
import type { Diagnostic } from "./result.ts";
import { translateSchemaErrors } from "./schema-messages.ts";
import { sortDiagnostics } from "./validate.ts";

/** leaven.yaml, once valid. `sim` and `simulator` both name the embedded simulator. */
export interface LeavenConfig {
  cloud?: "sim" | "simulator" | "aws";
  region?: string;
  profile?: string;
  endpoint?: string;
  sim?: { state?: string; speed?: number; awkward?: boolean };
  installation?: string;
  lock?: { table?: string; region?: string; endpoint?: string; ttl?: string };
  /** The package manifests' bucket (docs/package-manifests.md). */
  manifests?: { bucket: string; prefix?: string; region?: string; endpoint?: string };
  /** The bakery host of volume bakes (schemas/leaven-config.schema.json; defaults in plan/bakery.ts). */
  bakery?: BakeryConfig;
}

export interface BakeryConfig {
  instanceType?: string;
  imageId?: string;
  instanceProfile?: string;
  idleStop?: string;
  maxConcurrentBakes?: number;
  poolSize?: number;
  hostInstanceId?: string;
}

export const MISSING_CLOUD =
  "missing cloud: say where the images of these specs live, `cloud: aws` (your AWS account) or `cloud: simulator` (the embedded EC2 simulator: nothing real is created)";

/** DynamoDB's table names: 3 to 255 letters, digits, `_`, `-` and `.`. */
const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const MIN_LOCK_TTL_MS = 10_000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

let compiled: ValidateFunction | undefined;

/**
 * The config in `text` (the file shown as `file`), or the diagnostics that say what is wrong with it.
 * `cloudGiven`: the command line names the cloud, so the file need not.
 */
export function validateLeavenConfig(
  text: string,
  file: string,
  options: { cloudGiven?: boolean } = {},
): { config: LeavenConfig; diagnostics: Diagnostic[] } {
  const parsed = parseYamlDocumentsWithAst(text, file);
  const errors = parsed.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || parsed.broken.length > 0) return { config: {}, diagnostics: errors };
  const [document, ...more] = parsed.documents;
  if (more.length > 0)
    return {
      config: {},
      diagnostics: [
        at(more[0]!, {
          path: [],
          target: "value",
          message: "leaven.yaml holds one document; remove this one",
        }),
      ],
    };
  const value = document?.value ?? {};
  const problems: Problem[] = [];
  if (fields(value) === undefined) {
    problems.push({
      path: [],
      target: "value",
      message: "expected a mapping of fields, e.g. `cloud: aws` and `profile: NAME` on their own lines",
    });
  } else {
    compiled ??= new Ajv({ allErrors: true, verbose: true, strict: true }).compile(schema);
    if (!compiled(value))
      for (const problem of translateSchemaErrors(
        compiled.errors ?? [],
        value,
        schema as Record<string, unknown>,
      ))
        problems.push(problem);
    checkRules(fields(value)!, problems);
  }
  const kept = problems
    .map((problem) =>
      problem.path.length === 1 &&
      problem.path[0] === "cloud" &&
      problem.message.startsWith("missing required field")
        ? { ...problem, path: [], message: MISSING_CLOUD }
        : problem,
    )
    .filter((problem) => !(options.cloudGiven && problem.message === MISSING_CLOUD));
  const diagnostics = kept.map((problem) =>
    document === undefined
      ? {
          severity: "error" as const,
          position: { file, line: 1, column: 1 },
          path: formatFieldPath(problem.path),
          message: problem.message,
        }
      : at(document, problem),
  );
  return {
    config: diagnostics.length > 0 ? {} : (value as LeavenConfig),
    diagnostics: sortDiagnostics(diagnostics),
  };
}

function at(document: SourceDocument, problem: Problem): Diagnostic {
  return {
    severity: "error",
    position: document.locate(problem.path, problem.target),
    path: formatFieldPath(problem.path),
    message: problem.message,
  };
}

/** What the schema cannot say: tag-safe installation names, DynamoDB table names, a lease long enough. */
function checkRules(config: Record<string, unknown>, problems: Problem[]): void {
  if (config.installation !== undefined && typeof config.installation === "string") {
    const problem = installationProblem(config.installation);
    if (problem) problems.push({ path: ["installation"], target: "value", message: problem });
  }
  const manifests = fields(config.manifests);
  if (manifests && typeof manifests.bucket === "string" && !BUCKET_NAME.test(manifests.bucket))
    problems.push({
      path: ["manifests", "bucket"],
      target: "value",
      message: `"${manifests.bucket}" is not an S3 bucket name (3 to 63 lowercase letters, digits, . and -, starting and ending with a letter or digit), e.g. acme-image-manifests`,
    });
  if (
    manifests &&
    typeof manifests.prefix === "string" &&
    (manifests.prefix.startsWith("/") || manifests.prefix.includes("//"))
  )
    problems.push({
      path: ["manifests", "prefix"],
      target: "value",
      message: `"${manifests.prefix}" is not a key prefix: no leading "/" and no empty segments, e.g. leaven/manifests`,
    });
  const lock = fields(config.lock);
  if (lock === undefined) return;
  const { table, ttl } = lock;
  if (typeof table === "string" && !TABLE_NAME.test(table))
    problems.push({
      path: ["lock", "table"],
      target: "value",
      message: `"${table}" is not a DynamoDB table name (3 to 255 letters, digits, _, - and .), e.g. ${DEFAULT_LOCK_TABLE}`,
    });
  if (typeof ttl === "string" && isDuration(ttl) && parseDuration(ttl) < MIN_LOCK_TTL_MS)
    problems.push({
      path: ["lock", "ttl"],
      target: "value",
      message: `${ttl} is too short; a lease lasts at least 10s`,
    });
}
