// Package versions as dpkg orders them (epoch:upstream-revision, `~` before anything, letters before
// other characters), used for rpm versions too, whose order agrees on the versions distributions ship;
// and the ranges `leaven contains` takes: `3.0.2-0ubuntu1.15` (exactly), `<3.0.13`, `>=3.0 <3.1`.

function order(c: string): number {
  if (c === "~") return -1;
  if (/[0-9]/.test(c)) return 0;
  if (c === "") return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = order(i < a.length && !/[0-9]/.test(a[i]!) ? a[i]! : "");
      const bc = order(j < b.length && !/[0-9]/.test(b[j]!) ? b[j]! : "");
      if (ac !== bc) return ac - bc;
      if (i < a.length && !/[0-9]/.test(a[i]!)) i++;
      if (j < b.length && !/[0-9]/.test(b[j]!)) j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (first) return first;
  }
  return 0;
}

function split(version: string): [number, string, string] {
  const colon = version.indexOf(":");
  const epoch = colon > 0 && /^\d+$/.test(version.slice(0, colon)) ? Number(version.slice(0, colon)) : 0;
  const rest = colon > 0 ? version.slice(colon + 1) : version;
  const dash = rest.lastIndexOf("-");
  return dash > 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ""];
}

/** <0, 0 or >0 as `a` sorts before, with or after `b` (dpkg --compare-versions). */
export function compareVersions(a: string, b: string): number {
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  if (ea !== eb) return ea - eb;
  return compareFragment(ua, ub) || compareFragment(ra, rb);
}

type Operator = "=" | "<" | "<=" | ">" | ">=";
export interface VersionRange {
  text: string;
  terms: { op: Operator; version: string }[];
}

/** A range, or an error message that says what a range looks like. */
export function parseVersionRange(text: string): VersionRange | string {
  const terms: { op: Operator; version: string }[] = [];
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    const match = /^(<=|>=|<|>|==?)?([0-9][A-Za-z0-9.+~:-]*)$/.exec(word);
    if (!match)
      return `"${word}" is not a version or a comparison; write e.g. 3.0.2-0ubuntu1.15 (exactly), "<3.0.13" or ">=3.0 <3.1"`;
    const op = (match[1] === "==" ? "=" : (match[1] ?? "=")) as Operator;
    terms.push({ op, version: match[2]! });
  }
  if (terms.length === 0) return 'the version range is empty; write e.g. 3.0.2-0ubuntu1.15 or "<3.0.13"';
  return { text, terms };
}

export function inRange(version: string, range: VersionRange): boolean {
  return range.terms.every(({ op, version: bound }) => {
    const c = compareVersions(version, bound);
    return op === "=" ? c === 0 : op === "<" ? c < 0 : op === "<=" ? c <= 0 : op === ">" ? c > 0 : c >= 0;
  });
}
