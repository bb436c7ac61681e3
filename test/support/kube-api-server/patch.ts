// The PATCH bodies the real server accepts: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and, for
// built-in types only, strategic merge patch (approximated: see strategicMergePatch).
import { badRequest, KubeApiError } from "./api-errors.ts";
import { clone, deepEqual, isRecord } from "./types.ts";

export const MERGE_PATCH = "application/merge-patch+json";
export const JSON_PATCH = "application/json-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
export const APPLY_PATCH = "application/apply-patch+yaml";

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const result: Record<string, unknown> = isRecord(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** 422 as the real server answers a JSON patch that does not apply. */
function patchFailure(message: string): KubeApiError {
  return new KubeApiError(422, "", message);
}

function decodePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw patchFailure(`invalid JSON pointer: ${pointer}`);
  return pointer
    .slice(1)
    .split("/")
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function container(doc: unknown, tokens: string[], pointer: string): unknown {
  let node = doc;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isRecord(node)) node = node[token];
    else node = undefined;
    if (node === undefined) throw patchFailure(`doc is missing path: "${pointer}": missing value`);
  }
  return node;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = decodePointer(pointer);
  return container(doc, tokens, pointer);
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = decodePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) throw patchFailure("cannot remove the document root");
  const parent = container(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length)
      throw patchFailure(`Unable to remove nonexistent key: ${last}: missing value`);
    return parent.splice(index, 1)[0];
  }
  if (isRecord(parent) && Object.hasOwn(parent, last)) {
    const value = parent[last];
    delete parent[last];
    return value;
  }
  throw patchFailure(`Unable to remove nonexistent key: ${last}: missing value`);
}

function addAt(doc: unknown, pointer: string, value: unknown, replace: boolean): unknown {
  const tokens = decodePointer(pointer);
  const last = tokens.pop();
  if (last === undefined) return clone(value);
  const parent = container(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = last === "-" ? parent.length : Number(last);
    const max = replace ? parent.length - 1 : parent.length;
    if (!Number.isInteger(index) || index < 0 || index > max)
      throw patchFailure(`Unable to access invalid index: ${last}: invalid index referenced`);
    if (replace) parent[index] = clone(value);
    else parent.splice(index, 0, clone(value));
  } else if (isRecord(parent)) {
    if (replace && !Object.hasOwn(parent, last))
      throw patchFailure(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    parent[last] = clone(value);
  } else {
    throw patchFailure(`doc is missing path: "${pointer}": missing value`);
  }
  return doc;
}

/** RFC 6902, applied to a copy. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  let doc = clone(target);
  for (const op of operations) {
    if (!isRecord(op) || typeof op.op !== "string" || typeof op.path !== "string")
      throw badRequest("the server rejected our request due to an error in our request");
    const path = op.path;
    switch (op.op) {
      case "add":
        doc = addAt(doc, path, op.value, false);
        break;
      case "replace":
        doc = addAt(doc, path, op.value, true);
        break;
      case "remove":
        removeAt(doc, path);
        break;
      case "move": {
        const value = removeAt(doc, String(op.from));
        doc = addAt(doc, path, value, false);
        break;
      }
      case "copy":
        doc = addAt(doc, path, getAt(doc, String(op.from)), false);
        break;
      case "test":
        if (!deepEqual(getAt(doc, path), op.value))
          throw patchFailure(`testing value ${path} failed: test failed`);
        break;
      default:
        throw patchFailure(`Unexpected kind: ${op.op}`);
    }
  }
  return doc;
}

/** Lists of objects merged by key in the built-in types this server keeps (their patchMergeKey). */
const MERGE_KEYS: Record<string, string> = { conditions: "type", ownerReferences: "uid", related: "uid" };

/**
 * Strategic merge patch, approximated: a merge patch whose $-directives ($patch: delete/replace,
 * $setElementOrder, $retainKeys, $deleteFromPrimitiveList) are honoured or dropped, and whose lists named in
 * MERGE_KEYS merge element by element; other lists replace (real SMP merges them by each field's
 * patchStrategy, e.g. finalizers merge).
 */
export function strategicMergePatch(target: unknown, patch: unknown, field = ""): unknown {
  if (Array.isArray(patch) && Array.isArray(target) && MERGE_KEYS[field]) {
    const key = MERGE_KEYS[field]!;
    const result = clone(target) as unknown[];
    for (const item of patch) {
      if (!isRecord(item)) continue;
      const at = result.findIndex((t) => isRecord(t) && t[key] === item[key]);
      if (item.$patch === "delete") {
        if (at >= 0) result.splice(at, 1);
      } else if (at >= 0) result[at] = strategicMergePatch(result[at], item);
      else result.push(strategicMergePatch(undefined, item));
    }
    return result;
  }
  if (!isRecord(patch)) return clone(patch);
  if (patch.$patch === "replace") {
    const { $patch: _, ...rest } = patch;
    return strategicMergePatch(undefined, rest);
  }
  if (patch.$patch === "delete") return undefined;
  const result: Record<string, unknown> = isRecord(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$setElementOrder/") || key === "$retainKeys" || key === "$patch") continue;
    if (key.startsWith("$deleteFromPrimitiveList/")) {
      const name = key.slice("$deleteFromPrimitiveList/".length);
      const list = result[name];
      if (Array.isArray(list) && Array.isArray(value)) result[name] = list.filter((v) => !value.includes(v));
      continue;
    }
    if (value === null) delete result[key];
    else {
      const merged = strategicMergePatch(result[key], value, key);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    }
  }
  return result;
}
