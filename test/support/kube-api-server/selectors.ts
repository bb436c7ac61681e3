// Label and field selectors of list and watch requests, as the real server parses them.
import { badRequest } from "./api-errors.ts";
import { evaluateJsonPath } from "./jsonpath.ts";
import type { KubeObject } from "./types.ts";

type LabelRequirement =
  | { op: "exists" | "!exists"; key: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "gt" | "lt"; key: string; value: number };

export type LabelSelector = LabelRequirement[];

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth += 1;
    else if (ch === ")") depth -= 1;
    else if (ch === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

const KEY = "[A-Za-z0-9][-A-Za-z0-9_./]*";

export function parseLabelSelector(text: string | undefined): LabelSelector {
  if (!text) return [];
  return splitTopLevel(text).map((part): LabelRequirement => {
    let m = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\((.*)\\)$`).exec(part);
    if (m) {
      const values = m[3]!.split(",").map((v) => v.trim());
      return { op: m[2] as "in" | "notin", key: m[1]!, values };
    }
    m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(part);
    if (m) return { op: m[2] === "!=" ? "notin" : "in", key: m[1]!, values: [m[3]!] };
    m = new RegExp(`^(${KEY})\\s*(>|<)\\s*(-?\\d+)$`).exec(part);
    if (m) return { op: m[2] === ">" ? "gt" : "lt", key: m[1]!, value: Number(m[3]) };
    m = new RegExp(`^(!?)\\s*(${KEY})$`).exec(part);
    if (m) return { op: m[1] ? "!exists" : "exists", key: m[2]! };
    throw badRequest(`unable to parse requirement: found '${part}', expected: valid label selector`);
  });
}

export function labelsMatch(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const all = labels ?? {};
  return selector.every((req) => {
    const has = Object.hasOwn(all, req.key);
    const value = all[req.key];
    switch (req.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "in":
        return has && req.values.includes(value!);
      case "notin":
        return !has || !req.values.includes(value!);
      case "gt":
        return has && Number(value) > req.value;
      case "lt":
        return has && Number(value) < req.value;
    }
    return false;
  });
}

interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

export type FieldSelector = FieldRequirement[];

/** Parses a field selector, refusing fields the resource does not support (400, as the real server does). */
export function parseFieldSelector(
  text: string | undefined,
  supported: (field: string) => boolean,
): FieldSelector {
  if (!text) return [];
  return splitTopLevel(text).map((part) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!.trim();
    if (!supported(field)) throw badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === "!=" ? "!=" : "=", value: m[3]!.replace(/\\(.)/g, "$1") };
  });
}

function fieldValue(object: KubeObject, field: string): string {
  const [value] = evaluateJsonPath(object, `.${field}`);
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : String(value);
}

export function fieldsMatch(selector: FieldSelector, object: KubeObject): boolean {
  return selector.every((req) => (fieldValue(object, req.field) === req.value) === (req.op === "="));
}
