// Validates documents into specs: schema, per-spec rules, then rules across specs (names, parents,
// cycles). An invalid spec blocks only itself and its descendants.
import type { ImageSpec } from "../api/types.generated.ts";
import { LineageGraph } from "../lineage/graph.ts";
import { lineagePlatform } from "../lineage/platform.ts";
import { type FieldPath, formatFieldPath, type SourceDocument } from "../sources/source-document.ts";
import { notAnImageSpec } from "./document-kind.ts";
import { checkPlatformRules } from "./platform-rules.ts";
import { type Fields, fields, type Problem, text } from "./problem.ts";
import type { Diagnostic, Position, ValidationResult, ValidSpec } from "./result.ts";
import { checkSchema } from "./schema-validator.ts";
import { checkSpecRules } from "./spec-rules.ts";
import { didYouMean } from "./suggest.ts";

export interface ValidateOptions {
  /** Documents that could not be parsed, by spec name when known: they count as invalid specs. */
  broken?: ReadonlyArray<{ name?: string; position: Position }>;
}

interface Candidate {
  name: string;
  source: SourceDocument;
  layer: string | undefined;
  parentSpec: string | undefined;
  parentChannel: string | undefined;
  channels: string[];
  /** Channel → the parent channel its selector's parentIn names; undefined when none does. */
  parentIn: Map<string, string> | undefined;
  /** A foundation's spec.source.platform. */
  platform: string | undefined;
}

const MAX_LISTED_NAMES = 8;

export function validateDocuments(
  documents: readonly SourceDocument[],
  options: ValidateOptions = {},
): ValidationResult {
  return validateWithLineage(documents, options).result;
}

/** validateDocuments, with the lineage of the valid specs it builds on the way (a caller need not build it again). */
export function validateWithLineage(
  documents: readonly SourceDocument[],
  options: ValidateOptions = {},
): { result: ValidationResult; graph: LineageGraph } {
  const diagnostics: Diagnostic[] = [];
  /** Invalid specs, with why: their first error, or a problem of the whole spec (duplicate, cycle, bad YAML). */
  const invalid = new Map<string, string>();
  const errorCount = new Map<string, number>();
  const report = (source: SourceDocument, problem: Problem, spec: string | undefined) => {
    const severity = problem.severity ?? "error";
    const diagnostic: Diagnostic = {
      severity,
      position: source.locate(problem.path, problem.target),
      path: formatFieldPath(problem.path),
      message: problem.message,
    };
    if (spec !== undefined) diagnostic.spec = spec;
    diagnostics.push(diagnostic);
    if (severity !== "error" || spec === undefined) return;
    errorCount.set(spec, (errorCount.get(spec) ?? 0) + 1);
    if (!invalid.has(spec))
      invalid.set(spec, `invalid: ${diagnostic.path ? `${diagnostic.path}: ` : ""}${problem.message}`);
  };

  const candidates: Candidate[] = [];
  for (const source of documents) {
    const skipped = notAnImageSpec(source.value);
    if (skipped !== undefined) {
      diagnostics.push({ severity: "note", position: source.position, path: "", message: skipped });
      continue;
    }
    const document = fields(source.value)!;
    const name = text(fields(document.metadata)?.name);
    for (const problem of checkSchema(document)) report(source, { ...problem }, name);
    for (const problem of checkSpecRules(document)) report(source, problem, name);
    if (name === undefined) continue;
    const spec = fields(document.spec);
    const parent = fields(spec?.parent);
    candidates.push({
      name,
      source,
      layer: text(spec?.layer),
      parentSpec: text(parent?.spec),
      parentChannel: text(parent?.channel),
      channels: Object.keys(fields(spec?.channels) ?? {}),
      parentIn: parentInOf(fields(spec?.channels)),
      platform: text(fields(spec?.source)?.platform),
    });
  }

  const brokenNames = new Set<string>();
  for (const broken of options.broken ?? []) {
    if (broken.name === undefined) continue;
    brokenNames.add(broken.name);
    invalid.set(broken.name, "invalid: its document is not valid YAML");
    errorCount.delete(broken.name);
  }

  // Duplicate names: the name is ambiguous, so every spec of that name is invalid.
  // The first of each name, and lists only for names defined twice: a list per spec is memory a large
  // estate does not need.
  const first = new Map<string, Candidate>();
  const duplicated = new Map<string, Candidate[]>();
  for (const candidate of candidates) {
    const earlier = first.get(candidate.name);
    if (earlier === undefined) first.set(candidate.name, candidate);
    else {
      const list = duplicated.get(candidate.name);
      if (list === undefined) duplicated.set(candidate.name, [earlier, candidate]);
      else list.push(candidate);
    }
  }
  const unique = new Map<string, Candidate>();
  for (const [name, candidate] of first) {
    const list = duplicated.get(name);
    if (list === undefined) {
      unique.set(name, candidate);
      continue;
    }
    const places = list.map((c) => where(c.source.locate(["metadata", "name"])));
    for (const candidate of list.slice(1)) {
      report(
        candidate.source,
        {
          path: ["metadata", "name"],
          target: "value",
          message: `spec "${name}" is already defined at ${places[0]}; give each spec a unique name`,
        },
        undefined,
      );
    }
    invalid.set(name, `invalid: defined more than once (${places.join(", ")})`);
    errorCount.delete(name);
  }
  const allNames = new Set(first.keys());
  for (const name of brokenNames) allNames.add(name);

  // Parents: the spec must exist, have the channel, and be of a layer this one may be baked on.
  for (const candidate of unique.values()) {
    const parentName = candidate.parentSpec;
    if (parentName === undefined) continue;
    const parent = unique.get(parentName);
    if (!allNames.has(parentName)) {
      report(candidate.source, unknownParent(parentName, allNames), candidate.name);
      continue;
    }
    if (parent === undefined) continue; // duplicated or unparsable: already reported, blocks this one below
    const channel = candidate.parentChannel;
    if (channel !== undefined && !parent.channels.includes(channel)) {
      const list =
        parent.channels.length === 0 ? "it has no channels" : `its channels: ${parent.channels.join(", ")}`;
      report(
        candidate.source,
        {
          path: ["spec", "parent", "channel"],
          target: "value",
          message: `spec "${parentName}" has no channel "${channel}" (${list})${didYouMean(channel, parent.channels)}`,
        },
        candidate.name,
      );
    }
    for (const [own, gate] of candidate.parentIn ?? []) {
      if (parent.channels.includes(gate)) continue;
      const list =
        parent.channels.length === 0 ? "it has no channels" : `its channels: ${parent.channels.join(", ")}`;
      report(
        candidate.source,
        {
          path: ["spec", "channels", own, "parentIn"],
          target: "value",
          message: `parent spec "${parentName}" has no channel "${gate}" (${list})${didYouMean(gate, parent.channels)}`,
        },
        candidate.name,
      );
    }
    const problem = layerMismatch(candidate.layer, parentName, parent.layer);
    if (problem !== undefined) report(candidate.source, problem, candidate.name);
  }
  // Platform: a base or app is its foundation's platform, and its recipe must make sense there.
  const platformNode = (n: string) => {
    const c = unique.get(n);
    return c && { layer: c.layer, parent: c.parentSpec, platform: c.platform };
  };
  for (const candidate of unique.values()) {
    if (candidate.layer === "foundation" || candidate.parentSpec === undefined) continue;
    const lineage = lineagePlatform(candidate.name, platformNode);
    if (lineage === undefined) continue;
    const document = fields(candidate.source.value)!;
    for (const problem of checkPlatformRules(document, lineage.platform, lineage.foundation))
      report(candidate.source, problem, candidate.name);
  }

  // Cycles: reported once each, at the spec with the smallest name; every member is invalid.
  const everything = LineageGraph.fromSpecs(
    [...unique.values()].map((c) => ({ name: c.name, parent: c.parentSpec })),
  );
  for (const cycle of everything.cycles()) {
    const path = cycle.join(" → ");
    const first = unique.get(cycle[0]!)!;
    report(
      first.source,
      {
        path: ["spec", "parent", "spec"],
        target: "value",
        message: `parent cycle ${path} (each spec is baked on the next); change one parent to break it`,
      },
      first.name,
    );
    for (const member of cycle)
      if (!invalid.has(member)) invalid.set(member, `invalid: part of the parent cycle ${path}`);
  }

  const blocked = new Map<string, string>();
  for (const [name, reason] of invalid) {
    const more = (errorCount.get(name) ?? 0) - 1;
    blocked.set(name, more > 0 ? `${reason} (and ${more} more ${more === 1 ? "error" : "errors"})` : reason);
  }
  const parentOf = (name: string) => unique.get(name)?.parentSpec;
  const blockedBy = (name: string): string | undefined => {
    // Walk up the (single) parent chain to the nearest invalid ancestor; cycles are all invalid, so this ends.
    let current = parentOf(name);
    let direct = true;
    while (current !== undefined) {
      if (invalid.has(current))
        return direct ? `parent ${current} is invalid` : `ancestor ${current} is invalid`;
      current = parentOf(current);
      direct = false;
    }
    return undefined;
  };
  const valid: Candidate[] = [];
  for (const candidate of unique.values()) {
    if (invalid.has(candidate.name)) continue;
    const reason = blockedBy(candidate.name);
    if (reason !== undefined) blocked.set(candidate.name, reason);
    else valid.push(candidate);
  }

  const graph = LineageGraph.fromSpecs(valid.map((c) => ({ name: c.name, parent: c.parentSpec })));
  const specs: ValidSpec[] = graph.topologicalOrder().map((name) => {
    const candidate = unique.get(name)!;
    return { name, document: candidate.source.value as ImageSpec, position: candidate.source.position };
  });
  return {
    result: {
      specs,
      diagnostics: sortDiagnostics(
        diagnostics,
        documents.map((d) => d.file),
      ),
      blocked,
    },
    graph,
  };
}

function parentInOf(channels: Fields | undefined): Map<string, string> | undefined {
  let gates: Map<string, string> | undefined;
  for (const [channel, selector] of Object.entries(channels ?? {})) {
    const gate = text(fields(selector)?.parentIn);
    if (gate === undefined) continue;
    gates ??= new Map();
    gates.set(channel, gate);
  }
  return gates;
}

function unknownParent(name: string, known: Set<string>): Problem {
  const hint = didYouMean(name, known);
  const list = known.size <= MAX_LISTED_NAMES ? ` (defined specs: ${[...known].sort().join(", ")})` : "";
  return {
    path: ["spec", "parent", "spec"],
    target: "value",
    message: `no spec named "${name}"${hint || list}`,
  };
}

function layerMismatch(
  layer: string | undefined,
  parentName: string,
  parentLayer: string | undefined,
): Problem | undefined {
  if (parentLayer === undefined) return undefined;
  const article = (l: string) => (l === "app" ? "an app" : `a ${l}`);
  const path: FieldPath = ["spec", "parent", "spec"];
  if (layer === "base" && parentLayer !== "foundation" && parentLayer !== "base") {
    return {
      path,
      target: "value",
      message: `a base is baked on a foundation or a base, but "${parentName}" is ${article(parentLayer)}`,
    };
  }
  if (layer === "app" && parentLayer !== "base") {
    return {
      path,
      target: "value",
      message: `an app is baked on a base, but "${parentName}" is ${article(parentLayer)}`,
    };
  }
  return undefined;
}

function where(position: Position): string {
  return `${position.file}:${position.line}:${position.column}`;
}

/**
 * Diagnostics in reading order: by file (in the order first seen), then line and column; equal
 * positions keep the order the checks ran in.
 */
export function sortDiagnostics(diagnostics: Diagnostic[], fileOrder: readonly string[] = []): Diagnostic[] {
  const rank = new Map<string, number>();
  for (const file of fileOrder) if (!rank.has(file)) rank.set(file, rank.size);
  for (const d of diagnostics) if (!rank.has(d.position.file)) rank.set(d.position.file, rank.size);
  return diagnostics
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        rank.get(a.d.position.file)! - rank.get(b.d.position.file)! ||
        a.d.position.line - b.d.position.line ||
        a.d.position.column - b.d.position.column ||
        a.i - b.i,
    )
    .map(({ d }) => d);
}
