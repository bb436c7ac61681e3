// The subset of Kubernetes JSONPath that printer columns and selectable fields use: `.a.b`, `['a.b']`,
// `[0]`, `[*]` and filters `[?(@.type=="Ready")]` (== and != on a relative path).
import { isRecord } from "./types.ts";

type Step =
  | { kind: "field"; name: string }
  | { kind: "index"; index: number }
  | { kind: "wildcard" }
  | { kind: "filter"; path: Step[]; op: "==" | "!="; value: string };

function parseSteps(path: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const text = path
    .trim()
    .replace(/^\{(.*)\}$/, "$1")
    .replace(/^\$/, "")
    .replace(/^@/, "");
  while (i < text.length) {
    const ch = text[i];
    if (ch === ".") {
      i += 1;
      const match = /^[^.[\]]*/.exec(text.slice(i));
      const name = match ? match[0] : "";
      i += name.length;
      if (name === "*") steps.push({ kind: "wildcard" });
      else if (name !== "") steps.push({ kind: "field", name });
    } else if (ch === "[") {
      const end = findClosing(text, i);
      const inner = text.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === "*") steps.push({ kind: "wildcard" });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: "index", index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: "field", name: inner.slice(1, -1) });
      else if (inner.startsWith("?(") && inner.endsWith(")")) {
        const filter = /^@((?:\.[^=!]+)+?)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(\S+))$/.exec(
          inner.slice(2, -1).trim(),
        );
        if (!filter) throw new Error(`unsupported JSONPath filter: ${inner}`);
        steps.push({
          kind: "filter",
          path: parseSteps(filter[1]!.trim()),
          op: filter[2] as "==" | "!=",
          value: filter[3] ?? filter[4] ?? filter[5] ?? "",
        });
      } else throw new Error(`unsupported JSONPath subscript: [${inner}]`);
    } else {
      throw new Error(`unsupported JSONPath: ${path}`);
    }
  }
  return steps;
}

function findClosing(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "[") depth += 1;
    else if (ch === "]") {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unclosed [ in JSONPath: ${text}`);
}

function scalarText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function apply(values: unknown[], steps: Step[]): unknown[] {
  let current = values;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === "field") {
        if (isRecord(value) && step.name in value) next.push(value[step.name]);
      } else if (step.kind === "index") {
        if (Array.isArray(value)) {
          const item = value.at(step.index);
          if (item !== undefined) next.push(item);
        }
      } else if (step.kind === "wildcard") {
        if (Array.isArray(value)) next.push(...value);
        else if (isRecord(value)) next.push(...Object.values(value));
      } else {
        const items = Array.isArray(value) ? value : [value];
        for (const item of items) {
          const found = apply([item], step.path);
          const equal = found.length > 0 && scalarText(found[0]) === step.value;
          if ((step.op === "==") === equal && found.length > 0) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** Every value the path selects in `root` (empty when none). Throws on syntax it does not support. */
export function evaluateJsonPath(root: unknown, path: string): unknown[] {
  return apply([root], parseSteps(path));
}

/** Checks a path parses (CRD validation of printer columns and selectable fields). */
export function isSupportedJsonPath(path: string): boolean {
  try {
    parseSteps(path);
    return true;
  } catch {
    return false;
  }
}
