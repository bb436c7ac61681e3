// EC2 refuses user data over 16 KB. The bake and check scripts are rendered from the spec, so a recipe that
// is too large is known at validation: say so at the field that makes it large, rather than let plan find
// it later (or let a 50 MB script reach a renderer at all).

import type { Provision } from "../api/types.generated.ts";
import { renderCheckUserData } from "../execute/check-user-data.ts";
import { renderUserDataOfAnySize, USER_DATA_LIMIT_BYTES } from "../execute/user-data.ts";
import type { FieldPath } from "../sources/source-document.ts";
import { type Fields, fields, type Problem, text } from "./problem.ts";

/** A build id as long as any of the spec's (VERSION+HASH8): the rendered size does not depend on the hash. */
const HASH = "00000000";

const BAKE_ADVICE = "ship large files in a package, or fetch them from the provision script";
const CHECK_ADVICE = "keep the check short, or fetch what it runs from the check script";

export function checkUserDataSize(document: unknown, problems: Problem[]): void {
  const root = fields(document);
  const spec = fields(root?.spec);
  const name = text(fields(root?.metadata)?.name);
  // A foundation is never baked (its provision is reported as out of place by the layer rules).
  if (spec === undefined || name === undefined || spec.layer === "foundation") return;
  const buildId = `${text(spec.version) ?? "0.0.0"}+${HASH}`;
  checkBakeScript(spec, name, buildId, problems);
  checkSmokeScript(spec, name, buildId, problems);
}

function checkBakeScript(spec: Fields, name: string, buildId: string, problems: Problem[]): void {
  const provision = fields(spec.provision);
  if (provision === undefined) return;
  // The spec's own text goes into the script verbatim: what it contributes, field by field.
  const parts: Array<{ path: FieldPath; bytes: number }> = [];
  const script = text(provision.script);
  if (script !== undefined)
    parts.push({ path: ["spec", "provision", "script"], bytes: Buffer.byteLength(script) });
  const files = Array.isArray(provision.files) ? provision.files : [];
  files.forEach((file, i) => {
    const content = text(fields(file)?.content);
    if (content !== undefined)
      parts.push({ path: ["spec", "provision", "files", i, "content"], bytes: Buffer.byteLength(content) });
  });
  const largest = parts.reduce<(typeof parts)[number] | undefined>(
    (best, part) => (best === undefined || part.bytes > best.bytes ? part : best),
    undefined,
  );
  const verbatim = parts.reduce((sum, part) => sum + part.bytes, 0);
  if (verbatim > USER_DATA_LIMIT_BYTES) {
    // Over the limit before a line of the script is rendered: no need to render megabytes to know it.
    problems.push(
      largest!.bytes > USER_DATA_LIMIT_BYTES
        ? alone(largest!.path, "bake", largest!.bytes)
        : overLimit(largest!.path, "bake", `more than ${verbatim}`, largest!.bytes),
    );
    return;
  }
  let rendered: string;
  try {
    rendered = renderUserDataOfAnySize({ buildId, spec: name, provision: provision as Provision });
  } catch {
    return; // a recipe that cannot be rendered at all has other problems, reported by the schema and rules
  }
  const bytes = Buffer.byteLength(rendered);
  if (bytes <= USER_DATA_LIMIT_BYTES) return;
  const where = largest ?? { path: ["spec", "provision"] as FieldPath, bytes: 0 };
  problems.push(overLimit(where.path, "bake", String(bytes), where.bytes));
}

function checkSmokeScript(spec: Fields, name: string, buildId: string, problems: Problem[]): void {
  const script = text(fields(fields(spec.checks)?.smoke)?.script);
  if (script === undefined) return;
  const path: FieldPath = ["spec", "checks", "smoke", "script"];
  const own = Buffer.byteLength(script);
  if (own > USER_DATA_LIMIT_BYTES) {
    problems.push(alone(path, "smoke check", own));
    return;
  }
  // The check's wrapper around the script is the same whatever the script: its size plus the script's.
  let wrapper: number;
  try {
    wrapper = Buffer.byteLength(renderCheckUserData({ check: "smoke", buildId, spec: name, script: "" }));
  } catch {
    return; // a name that cannot be quoted for the shell: reported by the schema
  }
  const bytes = wrapper + own - (script.endsWith("\n") ? 1 : 0);
  if (bytes > USER_DATA_LIMIT_BYTES) problems.push(overLimit(path, "smoke check", String(bytes), own));
}

function overLimit(path: FieldPath, script: "bake" | "smoke check", size: string, own: number): Problem {
  return {
    path,
    target: "value",
    message: `the rendered ${script} script would be ${size} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte user-data limit (this field is ${own} bytes); ${script === "bake" ? BAKE_ADVICE : CHECK_ADVICE}`,
  };
}

/** A field that is over the limit by itself. */
function alone(path: FieldPath, script: "bake" | "smoke check", own: number): Problem {
  return {
    path,
    target: "value",
    message: `this field alone is ${own} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte user-data limit for the whole rendered ${script} script; ${script === "bake" ? BAKE_ADVICE : CHECK_ADVICE}`,
  };
}
