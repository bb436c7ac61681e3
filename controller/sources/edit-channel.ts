// Points one channel of one spec at a new selector by editing the YAML text in place, so a promotion is a
// reviewable one-line git diff: comments, key order, quoting, flow or block style and line endings of
// everything else are kept byte for byte.
//
// The edit is surgical text replacement at the yaml package's node ranges, not Document.toString(): the
// package's stringifier re-renders the whole document (re-folds long strings, normalises spacing in flow
// maps, moves comments), which would turn a promotion into a diff of the whole file. Every edit is checked
// by parsing the new text again: it must hold exactly the old documents with only that selector changed.
import { isDeepStrictEqual } from "node:util";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  type Node,
  type Pair,
  parseAllDocuments,
  Scalar,
  type YAMLMap,
} from "yaml";

/** What the channel should select: exactly one build, or the newest ready build. */
export type NewSelector = { build: string } | { latest: true };

export interface ChannelEdit {
  /** metadata.name of the ImageSpec document to edit. */
  spec: string;
  channel: string;
  selector: NewSelector;
  /** 0-based index of the document within the file; when omitted, the document is found by its name. */
  documentIndex?: number;
}

export type ChannelEditResult =
  | {
      ok: true;
      /** The whole new file text (equal to the old text when nothing changed). */
      text: string;
      /** False when the channel already selects exactly this: the text is returned unchanged. */
      changed: boolean;
      /** The channel did not exist and was added. */
      added: boolean;
      /** Selector keys removed besides the old choice, e.g. minAge (it has no effect on a pinned build). */
      dropped: string[];
    }
  | { ok: false; error: string };

/**
 * The keys that choose a build; a selector sets exactly one of them. Every other key (minAge, parentIn and
 * whatever gates the schema adds later) narrows or gates the choice and is kept — except minAge when this
 * edit turns another choice into a build: minAge has no effect on a pinned build (validation warns about it).
 */
export const CHOICE_KEYS: readonly string[] = ["latest", "build", "version", "follow", "image"];

interface Replacement {
  start: number;
  end: number;
  text: string;
}

class EditError extends Error {}

/**
 * Returns `text` with `spec.channels.<channel>` of the named spec's document set to `selector`. Only the
 * selector's choice is touched: an existing `build:` scalar gets the new id in its own quoting; another
 * choice (`latest: true`, `version: …`) is replaced by the new one in place, in the selector's flow or block
 * style; other selector keys stay. A channel that does not exist yet is added after the last one, in the
 * style of its siblings. Never throws: a document it cannot edit safely is an error saying what to do.
 */
export function editChannel(text: string, edit: ChannelEdit): ChannelEditResult {
  try {
    return apply(text, edit);
  } catch (error) {
    if (error instanceof EditError) return { ok: false, error: error.message };
    throw error;
  }
}

function apply(text: string, edit: ChannelEdit): ChannelEditResult {
  const { spec, channel, selector } = edit;
  const docs = parseDocuments(text);
  if (docs === undefined || docs.length === 0) throw new EditError("the file holds no YAML documents");
  const doc = findDocument(docs, edit);
  const where = `spec ${spec}`;
  const root = doc.contents;
  const specNode = mapAt(root, "spec", where);
  if (specNode === undefined || !isMap(specNode))
    throw new EditError(`${where} has no spec mapping to put channels in; fix the document first`);
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const replacements: Replacement[] = [];
  let added = false;
  let dropped: string[] = [];
  let expected: Record<string, unknown>;

  const channelsPair = pairOf(specNode, "channels");
  if (channelsPair === undefined || isNull(channelsPair.value)) {
    // No channels at all yet: add the mapping with this one channel.
    if (specNode.flow) throw new EditError(`${where} is a flow mapping; add channels to it by hand`);
    if (channelsPair !== undefined) {
      // `channels:` with nothing (or an explicit null) after it: the channel goes on the next line.
      const value = channelsPair.value;
      if (value !== null && value.range && value.range[1] > value.range[0]) {
        const [start, end] = value.range;
        replacements.push({ start: text[start - 1] === " " ? start - 1 : start, end, text: "" });
      }
      const at = lineEndAfter(text, keyEnd(text, channelsPair) + 1);
      const newline = at === text.length && !text.endsWith("\n") ? eol : "";
      const indent = `${columnOf(text, keyStart(channelsPair))}${indentUnit(text, specNode, root)}`;
      replacements.push({
        start: at,
        end: at,
        text: `${newline}${indent}${keyText(channel)}: ${flowSelector(selector)}${eol}`,
      });
    } else {
      // No channels key: add the mapping after spec's last field, one level in.
      const last = specNode.items.at(-1) as Pair<Node, Node | null> | undefined;
      if (last === undefined) throw new EditError(`${where} has an empty spec; fix the document first`);
      const indent = columnOf(text, keyStart(last));
      const at = lineEndAfter(text, valueEnd(last));
      const newline = at === text.length && !text.endsWith("\n") ? eol : "";
      replacements.push({
        start: at,
        end: at,
        text: `${newline}${indent}channels:${eol}${indent}${indentUnit(text, specNode, root)}${keyText(channel)}: ${flowSelector(selector)}${eol}`,
      });
    }
    added = true;
    expected = selectorObject(selector);
  } else {
    const channels = channelsPair.value;
    if (isAlias(channels) || !isMap(channels))
      throw new EditError(`spec.channels of ${where} is not a plain mapping; edit it by hand`);
    const pair = pairOf(channels, channel);
    if (pair === undefined) {
      replacements.push(addChannel(text, channels, channel, selector, eol, where));
      added = true;
      expected = selectorObject(selector);
    } else {
      const value = pair.value;
      if (isAlias(value) || !isMap(value))
        throw new EditError(
          `channel ${channel} of ${where} is not a mapping; write it as ${keyText(channel)}: ${flowSelector(selector)}`,
        );
      const before = toPlain(value, doc);
      const planned = editSelector(text, value, selector, `channel ${channel} of ${where}`, eol);
      if (planned.replacements.length === 0)
        return { ok: true, text, changed: false, added: false, dropped: [] };
      replacements.push(...planned.replacements);
      dropped = planned.dropped;
      expected = expectedSelector(before, selector);
    }
  }

  const next = applyReplacements(text, replacements);
  verify(docs, next, docs.indexOf(doc), channel, expected, where);
  return { ok: true, text: next, changed: next !== text, added, dropped };
}

const PARSE_OPTIONS = { uniqueKeys: true, prettyErrors: false, logLevel: "error" } as const;

/** Every document of the text; undefined when the text is not a YAML stream at all. */
function parseDocuments(text: string): Document.Parsed[] | undefined {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  return Array.isArray(docs) ? (docs as Document.Parsed[]) : undefined;
}

function findDocument(docs: Document.Parsed[], edit: ChannelEdit): Document.Parsed {
  const named = (doc: Document.Parsed): boolean => {
    if (!isMap(doc.contents)) return false;
    // Other kinds may share the name (a ConfigMap beside the spec): only the ImageSpec is the spec.
    if (scalarValue(doc.contents.get("kind", true)) !== "ImageSpec") return false;
    const metadata = doc.contents.get("metadata", true);
    return isMap(metadata) && scalarValue(metadata.get("name", true)) === edit.spec;
  };
  let doc: Document.Parsed | undefined;
  if (edit.documentIndex !== undefined) {
    doc = docs[edit.documentIndex];
    if (doc === undefined || !named(doc))
      throw new EditError(
        `document ${edit.documentIndex + 1} of the file is not spec ${edit.spec}; the file changed since it was read, so run the command again`,
      );
  } else {
    const found = docs.filter(named);
    if (found.length === 0) throw new EditError(`no document in the file is named ${edit.spec}`);
    if (found.length > 1)
      throw new EditError(
        `${found.length} documents in the file are named ${edit.spec}; keep one (leaven validate)`,
      );
    doc = found[0]!;
  }
  if (doc.errors.length > 0)
    throw new EditError(
      `spec ${edit.spec} has YAML errors (${doc.errors[0]!.message.split("\n")[0]}); fix them first (leaven validate)`,
    );
  return doc;
}

function mapAt(node: unknown, key: string, where: string): Node | undefined {
  if (!isMap(node)) return undefined;
  const pair = pairOf(node, key);
  if (pair !== undefined && isAlias(pair.value))
    throw new EditError(`${where}: ${key} is a YAML alias; edit it by hand`);
  return (pair?.value as Node | null | undefined) ?? undefined;
}

function pairOf(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
  for (const item of map.items as Pair<unknown, unknown>[]) {
    if (isScalar(item.key) && String(item.key.value) === key) return item as Pair<Node, Node | null>;
    if (isScalar(item.key) && item.key.value === "<<")
      throw new EditError(`the mapping uses a << merge key; edit it by hand`);
  }
  return undefined;
}

function scalarValue(node: unknown): unknown {
  return isScalar(node) ? (node.value as unknown) : undefined;
}

function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

// ----- The selector itself -----

/** The replacements that turn an existing selector map into the new choice, keeping its other keys. */
function editSelector(
  text: string,
  map: YAMLMap,
  selector: NewSelector,
  where: string,
  eol: string,
): { replacements: Replacement[]; dropped: string[] } {
  const [newKey, newValue] = choiceOf(selector);
  const newPlain = plainValue(selector);
  const pairs = map.items as Pair<Node, Node | null>[];
  for (const pair of pairs) {
    if (isScalar(pair.key) && pair.key.value === "<<")
      throw new EditError(`${where} uses a << merge key; edit it by hand`);
    if (!isScalar(pair.key) || isAlias(pair.value))
      throw new EditError(`${where} uses a complex key or an alias; edit it by hand`);
  }
  const key = (pair: Pair<Node, Node | null>) => String((pair.key as Scalar).value);
  const choices = pairs.filter((p) => CHOICE_KEYS.includes(key(p)));
  const same = choices.find((p) => key(p) === newKey);
  // minAge has no effect on a pinned build: it goes when this edit pins one, and an existing build
  // selector's minAge (already without effect, and warned about) is not this edit's business.
  const removable = (p: Pair<Node, Node | null>) =>
    choices.includes(p) || (newKey === "build" && same === undefined && key(p) === "minAge");

  // Already selecting exactly this: leave the selector alone, gates and minAge included.
  if (same !== undefined && choices.length === 1 && isScalar(same.value) && same.value.value === newPlain)
    return { replacements: [], dropped: [] };
  const keep = same ?? choices[0];
  const toRemove = pairs.filter((p) => p !== keep && removable(p));
  const replacements: Replacement[] = [];
  if (keep === undefined) {
    // A selector with no choice (only gates): add the choice in front of them.
    const first = pairs[0];
    if (first === undefined) {
      replacements.push({ start: map.range![0], end: map.range![1], text: flowSelector(selector) });
    } else {
      const start = keyStart(first);
      const separator = map.flow ? ", " : `${eol}${columnOf(text, start)}`;
      replacements.push({ start, end: start, text: `${newKey}: ${newValue}${separator}` });
    }
  } else if (keep === same) {
    if (!isScalar(keep.value) || keep.value.value !== newPlain)
      replacements.push(replaceScalar(text, keep, selector));
  } else {
    replacements.push({ start: keyStart(keep), end: valueEnd(keep), text: `${newKey}: ${newValue}` });
  }
  for (const pair of toRemove) replacements.push(removePair(text, map, pair, where));
  const dropped = toRemove.filter((p) => !CHOICE_KEYS.includes(key(p))).map(key);
  return { replacements, dropped };
}

/** The build scalar replaced in its own style: plain stays plain, single quotes stay single. */
function replaceScalar(text: string, pair: Pair<Node, Node | null>, selector: NewSelector): Replacement {
  const value = pair.value;
  const wanted = plainValue(selector);
  if (value === null || !isScalar(value) || value.range === undefined || value.range === null) {
    // `build:` with nothing after it: the value goes right after the colon.
    const at = keyEnd(text, pair);
    return { start: at, end: at, text: ` ${choiceOf(selector)[1]}` };
  }
  const [start, end] = value.range;
  let rendered: string;
  if (typeof wanted !== "string") rendered = String(wanted);
  else if (value.type === Scalar.PLAIN && /^[0-9A-Za-z][0-9A-Za-z.+_-]*$/.test(wanted)) rendered = wanted;
  else if (value.type === Scalar.QUOTE_SINGLE) rendered = `'${wanted.replaceAll("'", "''")}'`;
  else rendered = JSON.stringify(wanted);
  return { start, end, text: rendered };
}

/** Removes one pair: its whole line(s) in a block map; the pair and one comma in a flow map. */
function removePair(text: string, map: YAMLMap, pair: Pair<Node, Node | null>, where: string): Replacement {
  const start = keyStart(pair);
  const end = valueEnd(pair);
  if (!map.flow) {
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    if (text.slice(lineStart, start).trim() !== "")
      throw new EditError(`${where} shares a line with other content; edit it by hand`);
    return { start: lineStart, end: lineEndAfter(text, end), text: "" };
  }
  let after = end;
  while (after < text.length && (text[after] === " " || text[after] === "\t")) after++;
  if (text[after] === ",") {
    after++;
    while (after < text.length && (text[after] === " " || text[after] === "\t")) after++;
    return { start, end: after, text: "" };
  }
  let before = start;
  while (before > 0 && /\s/.test(text[before - 1]!)) before--;
  if (text[before - 1] !== ",")
    throw new EditError(`${where} is laid out in a way this edit cannot follow; edit it by hand`);
  return { start: before - 1, end, text: "" };
}

// ----- A channel that does not exist yet -----

function addChannel(
  text: string,
  channels: YAMLMap,
  channel: string,
  selector: NewSelector,
  eol: string,
  where: string,
): Replacement {
  const entry = `${keyText(channel)}: ${flowSelector(selector)}`;
  const last = (channels.items as Pair<Node, Node | null>[]).at(-1);
  if (channels.flow) {
    if (last === undefined)
      return { start: channels.range![0], end: channels.range![1], text: `{ ${entry} }` };
    const at = valueEnd(last);
    return { start: at, end: at, text: `, ${entry}` };
  }
  if (last === undefined)
    throw new EditError(`spec.channels of ${where} is empty in an unusual way; edit it by hand`);
  // On its own line after the last channel, in the style of that channel's selector: block when it is a
  // block mapping, else `{ … }` on one line as in the examples.
  const indent = columnOf(text, keyStart(last));
  const at = lineEndAfter(text, valueEnd(last));
  const newline = at === text.length && !text.endsWith("\n") ? eol : "";
  const sibling = last.value;
  if (isMap(sibling) && !sibling.flow && sibling.items.length > 0) {
    const inner = columnOf(text, keyStart(sibling.items[0] as Pair<Node, Node | null>));
    const [key, value] = choiceOf(selector);
    return {
      start: at,
      end: at,
      text: `${newline}${indent}${keyText(channel)}:${eol}${inner}${key}: ${value}${eol}`,
    };
  }
  return { start: at, end: at, text: `${newline}${indent}${entry}${eol}` };
}

// ----- Rendering -----

function choiceOf(selector: NewSelector): [string, string] {
  return "build" in selector ? ["build", JSON.stringify(selector.build)] : ["latest", "true"];
}

function plainValue(selector: NewSelector): string | boolean {
  return "build" in selector ? selector.build : true;
}

function flowSelector(selector: NewSelector): string {
  const [key, value] = choiceOf(selector);
  return `{ ${key}: ${value} }`;
}

function keyText(key: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(key) ? key : JSON.stringify(key);
}

function selectorObject(selector: NewSelector): Record<string, unknown> {
  return "build" in selector ? { build: selector.build } : { latest: true };
}

/** What the selector must read as after the edit: its gates kept, its choice replaced. */
function expectedSelector(before: unknown, selector: NewSelector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const old = (before ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(old)) {
    if (CHOICE_KEYS.includes(key)) continue;
    if (key === "minAge" && "build" in selector && !("build" in old)) continue;
    out[key] = value;
  }
  return { ...selectorObject(selector), ...out };
}

// ----- Positions -----

function keyStart(pair: Pair<Node, Node | null>): number {
  const range = (pair.key as Node).range;
  if (!range) throw new EditError("a key has no position; edit the file by hand");
  return range[0];
}

/** Where the key's text ends (before the colon). */
function keyEnd(text: string, pair: Pair<Node, Node | null>): number {
  const range = (pair.key as Node).range!;
  const colon = text.indexOf(":", range[1]);
  return colon === -1 ? range[1] : colon + 1;
}

/** End of the pair's value text, before any trailing comment (the key's end for `key:` with no value). */
function valueEnd(pair: Pair<Node, Node | null>): number {
  const value = pair.value;
  if (value !== null && value.range) {
    const [start, end] = value.range;
    if (end > start) return end;
  }
  return (pair.key as Node).range![1];
}

/** The offset just after the line break that ends the line containing offset-1 (or the text's end). */
function lineEndAfter(text: string, offset: number): number {
  const from = Math.max(0, offset - 1);
  if (text[from] === "\n") return from + 1;
  const newline = text.indexOf("\n", from);
  return newline === -1 ? text.length : newline + 1;
}

/** The whitespace before offset on its line: the indentation of a block-map key. */
function columnOf(text: string, offset: number): string {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  return /^[ \t]*$/.test(before) ? before : " ".repeat(before.length);
}

/** One level of indentation as the document uses it: spec's keys relative to the top level. */
function indentUnit(text: string, specMap: YAMLMap, root: unknown): string {
  const first = specMap.items[0] as Pair<Node, Node | null> | undefined;
  const rootFirst = isMap(root) ? (root.items[0] as Pair<Node, Node | null> | undefined) : undefined;
  if (first === undefined || rootFirst === undefined) return "  ";
  const unit = columnOf(text, keyStart(first)).length - columnOf(text, keyStart(rootFirst)).length;
  return " ".repeat(unit > 0 ? unit : 2);
}

function applyReplacements(text: string, replacements: Replacement[]): string {
  const sorted = [...replacements].sort((a, b) => b.start - a.start);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const r of sorted) {
    if (r.end > limit) throw new EditError("the selector's parts overlap in the text; edit it by hand");
    out = out.slice(0, r.start) + r.text + out.slice(r.end);
    limit = r.start;
  }
  return out;
}

// ----- Verification -----

function toPlain(node: unknown, doc: Document.Parsed): unknown {
  return isMap(node) || isScalar(node) ? node.toJS(doc) : node;
}

/**
 * The new text must parse without errors into the same documents, except that the edited spec's channel
 * reads as `expected`. Anything else means the edit went wrong: nothing is written.
 */
function verify(
  before: Document.Parsed[],
  after: string,
  index: number,
  channel: string,
  expected: Record<string, unknown>,
  where: string,
): void {
  const next = parseDocuments(after);
  const problem = (why: string) =>
    new EditError(
      `could not edit channel ${channel} of ${where} safely (${why}); set it by hand to ${JSON.stringify(expected)}`,
    );
  if (next === undefined || next.length !== before.length) throw problem("the document count changed");
  next.forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw problem(`the result does not parse: ${doc.errors[0]!.message.split("\n")[0]}`);
    const want = before[i]!.toJS() as unknown;
    if (i === index) {
      const spec = (want as { spec: Record<string, unknown> }).spec;
      spec.channels = { ...((spec.channels as Record<string, unknown> | null) ?? {}), [channel]: expected };
    }
    if (!isDeepStrictEqual(doc.toJS(), want)) throw problem(`document ${i + 1} would read differently`);
  });
}
