// Translates ajv errors into messages that say what is wrong and what would be valid, in the user's words.
import type { ErrorObject } from "ajv";
import type { FieldPath } from "../sources/source-document.ts";
import { BUILD_ID_EXPECTED } from "./build-id.ts";
import { DURATION_EXPECTED } from "./durations.ts";
import { intendedVersion, SEMVER_PATTERN, VERSION_EXPECTED } from "./semantic-version.ts";
import { didYouMean } from "./suggest.ts";

type SchemaNode = Record<string, unknown>;

export interface SchemaProblem {
  /** Field the message is about. */
  path: FieldPath;
  /** Point at the key (unknown fields) or at the value / nearest existing ancestor. */
  target: "value" | "key";
  message: string;
}

interface PatternWords {
  noun: string;
  expected: string;
  /** The value the user probably meant, when one can be guessed: the message ends with "did you mean". */
  intended?: (value: string) => string | undefined;
}

// Patterns of the schema explained in words: what the value is not, and what it should look like.
// Exported so a test can check that every pattern of the schema is explained.
export const PATTERN_WORDS: Record<string, PatternWords> = {
  "^[0-9]+(s|m|h|d|w)$": { noun: "a duration", expected: DURATION_EXPECTED },
  [SEMVER_PATTERN.source]: {
    noun: "a semantic version",
    expected: VERSION_EXPECTED,
    intended: intendedVersion,
  },
  "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$": {
    noun: "a valid name",
    expected:
      "lower-case letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters",
  },
  "^/": { noun: "an absolute path", expected: "a path starting with /" },
  "^(/|[A-Za-z]:[\\\\/])": {
    noun: "an absolute path",
    expected: "a path starting with / on Linux, or with a drive such as C:\\ on Windows",
  },
  "^(/[a-zA-Z0-9_.-]+)+$": {
    noun: "an SSM parameter path",
    expected:
      "/-separated segments of letters, digits, '_', '.' and '-', no trailing /, e.g. /platform/images",
  },
  "^[a-zA-Z0-9][-a-zA-Z0-9_.]*$": {
    noun: "a valid repository name",
    expected: "letters, digits, '-', '_' and '.', starting with a letter or digit",
  },
  "^0?[0-7]{3}$": {
    noun: "a permission mode",
    expected: 'three octal digits, optionally after a 0, e.g. "0644"',
  },
  "^[a-z][a-z0-9-]*\\.[a-z0-9]+$": { noun: "an instance type", expected: "FAMILY.SIZE, e.g. t3.medium" },
  "^subnet-[0-9a-f]+$": { noun: "a subnet id", expected: "subnet- and hex digits, e.g. subnet-0abc1234" },
  "^sg-[0-9a-f]+$": { noun: "a security group id", expected: "sg- and hex digits, e.g. sg-0abc1234" },
  "^[0-9]{12}$": { noun: "an AWS account id", expected: "12 digits, e.g. 111122223333" },
  "^[0-9a-f]{40}$": {
    noun: "a commit id",
    expected: "the full 40 hex digits of a commit (git rev-parse HEAD), not a branch or tag",
  },
  "^[0-9a-f]{64}$": {
    noun: "a SHA-256",
    expected: "64 lower-case hex digits (sha256sum FILE)",
  },
  "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": {
    noun: "an S3 bucket name",
    expected: "3–63 lower-case letters, digits, dots and hyphens, e.g. acme-bake-files",
  },
  "^arn:aws[-a-z]*:organizations::[0-9]{12}:organization/o-[a-z0-9]+$": {
    noun: "an organization ARN",
    expected: "arn:aws:organizations::ACCOUNT:organization/o-ID",
  },
  "^arn:aws[-a-z]*:organizations::[0-9]{12}:ou/o-[a-z0-9]+/ou-[a-z0-9]+-[a-z0-9]+$": {
    noun: "an organizational unit ARN",
    expected: "arn:aws:organizations::ACCOUNT:ou/o-ID/ou-ROOT-ID",
  },
  "^arn:aws[-a-z]*:kms:": { noun: "a KMS key ARN", expected: "arn:aws:kms:REGION:ACCOUNT:key/ID" },
};

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping of fields",
  null: "nothing",
};

/** Decodes an ajv instancePath (JSON pointer) into field path segments, numbers for array indices. */
export function pointerToPath(pointer: string, data: unknown): FieldPath {
  if (pointer === "") return [];
  const out: Array<string | number> = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split("/")) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const index = Number(segment);
      out.push(index);
      node = node[index];
    } else {
      out.push(segment);
      node =
        node !== null && typeof node === "object" ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return out;
}

/** Turns ajv errors for one document into problems; one per field, the most basic first (type beats enum). */
export function translateSchemaErrors(
  errors: readonly ErrorObject[],
  data: unknown,
  root: SchemaNode,
): SchemaProblem[] {
  const typeErrorAt = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    if (error.keyword !== "type" && typeErrorAt.has(error.instancePath)) continue;
    problems.push(translate(error, pointerToPath(error.instancePath, data), root));
  }
  return problems;
}

function translate(error: ErrorObject, path: FieldPath, root: SchemaNode): SchemaProblem {
  const parentSchema = (error.parentSchema ?? {}) as SchemaNode;
  const params = error.params as Record<string, unknown>;
  const data: unknown = error.data;
  switch (error.keyword) {
    case "required": {
      const missing = String(params.missingProperty);
      const property = resolve(propertiesOf(parentSchema)[missing], root);
      return {
        path: [...path, missing],
        target: "value",
        message: `missing required field "${missing}" (${expectation(property)})`,
      };
    }
    case "additionalProperties": {
      const unknown = String(params.additionalProperty);
      const allowed = Object.keys(propertiesOf(parentSchema));
      return {
        path: [...path, unknown],
        target: "key",
        message: `unknown field "${unknown}" (allowed: ${allowed.join(", ")})${didYouMean(unknown, allowed)}`,
      };
    }
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map(String);
      if (allowed.length === 1)
        return { path, target: "value", message: `must be ${allowed[0]} (got ${show(data)})` };
      return {
        path,
        target: "value",
        message: `${show(data)} is not one of ${allowed.join(", ")}${typeof data === "string" ? didYouMean(data, allowed) : ""}`,
      };
    }
    case "type": {
      const expected = TYPE_WORDS[String(params.type)] ?? String(params.type);
      const quote =
        params.type === "string" && (typeof data === "number" || typeof data === "boolean")
          ? " (put the value in quotes)"
          : "";
      return { path, target: "value", message: `expected ${expected}, got ${describe(data)}${quote}` };
    }
    case "pattern": {
      const pattern = String(params.pattern);
      const words = PATTERN_WORDS[pattern];
      if (words) {
        const intended = typeof data === "string" ? words.intended?.(data) : undefined;
        const hint = intended === undefined ? "" : `; did you mean "${intended}"?`;
        return {
          path,
          target: "value",
          message: `${show(data)} is not ${words.noun} (expected ${words.expected})${hint}`,
        };
      }
      return {
        path,
        target: "value",
        message: `${show(data)} does not match ${pattern} (${firstSentence(parentSchema)})`,
      };
    }
    case "minItems": {
      const limit = Number(params.limit);
      return {
        path,
        target: "value",
        message: `must list at least ${limit} ${limit === 1 ? "item" : "items"} (${firstSentence(parentSchema)})`,
      };
    }
    case "uniqueItems": {
      const later = Number(params.j);
      const earlier = Number(params.i);
      const items = Array.isArray(data) ? data : [];
      const what = path[path.length - 1] === "regions" ? "region" : "value";
      return {
        path: [...path, later],
        target: "value",
        message: `${what} ${show(items[later])} is listed twice (also at index ${earlier}); list each ${what} once`,
      };
    }
    case "minLength":
      return { path, target: "value", message: `must not be empty (${firstSentence(parentSchema)})` };
    case "minimum":
      return {
        path,
        target: "value",
        message: `must be at least ${String(params.limit)} (got ${show(data)})`,
      };
    case "maximum":
      return {
        path,
        target: "value",
        message: `must be at most ${String(params.limit)} (got ${show(data)})`,
      };
    default:
      return {
        path,
        target: "value",
        message: `${error.message ?? "is invalid"} (${firstSentence(parentSchema)})`,
      };
  }
}

function propertiesOf(schema: SchemaNode): Record<string, unknown> {
  const properties = schema.properties;
  return properties !== null && typeof properties === "object" ? (properties as Record<string, unknown>) : {};
}

function resolve(schema: unknown, root: SchemaNode): SchemaNode {
  if (schema === null || typeof schema !== "object") return {};
  const node = schema as SchemaNode;
  if (typeof node.$ref !== "string") return node;
  const name = node.$ref.replace("#/definitions/", "");
  const target = (root.definitions as Record<string, SchemaNode> | undefined)?.[name] ?? {};
  return { ...target, ...node };
}

/** What a field should hold, in words: its allowed values or its description's first sentence. */
function expectation(schema: SchemaNode): string {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map(String).join(", ")}`;
  return firstSentence(schema);
}

function firstSentence(schema: SchemaNode): string {
  const description =
    typeof schema.description === "string" ? schema.description : "see docs/api-reference.md";
  // The first full stop that ends a sentence: not the one of an "e.g." or "i.e." inside it.
  const end = description.search(/(?<!\b(e\.g|i\.e))\.(\s|$)/);
  const sentence = end === -1 ? description : description.slice(0, end);
  // A selector's build field is described with an example that is itself the expected form.
  return sentence.includes("VERSION+HASH") ? `expected ${BUILD_ID_EXPECTED}` : sentence;
}

/** A value as it appears in a message: strings quoted, others as JSON. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "nothing";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${show(value)}`;
  if (typeof value === "number") return `the number ${String(value)}`;
  return String(value);
}
