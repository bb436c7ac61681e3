// DynamoDB's condition and update expressions, as far as the simulator needs them: top-level attribute
// paths (a name or a #alias), :values, the comparators = <> < <= > >=, BETWEEN, IN, the functions
// attribute_exists, attribute_not_exists, attribute_type, begins_with and contains, AND / OR / NOT and
// parentheses; update expressions with SET (a value, another attribute, `if_not_exists` or `a + :n` /
// `a - :n`) and REMOVE. Nested paths (a.b, a[0]), ADD and DELETE are refused with a ValidationException
// that says so, rather than answered wrongly. Like DynamoDB, every #name and :value a request defines
// must be used, and every one used must be defined.

/** One attribute value on the wire: { S: "x" }, { N: "1" }, { BOOL: true }, { NULL: true }, { M: … }, { L: … }… */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export class ExpressionError extends Error {}

type Token =
  | { kind: "name"; text: string }
  | { kind: "alias"; text: string }
  | { kind: "value"; text: string }
  | { kind: "op"; text: string }
  | { kind: "punct"; text: "(" | ")" | "," };

const KEYWORDS = new Set(["AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: "punct", text: c });
      i += 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === "<>" || two === "<=" || two === ">=") {
      tokens.push({ kind: "op", text: two });
      i += 2;
      continue;
    }
    if (c === "=" || c === "<" || c === ">" || c === "+" || c === "-") {
      tokens.push({ kind: "op", text: c });
      i += 1;
      continue;
    }
    if (c === "." || c === "[")
      throw new ExpressionError(
        "Invalid expression: nested attribute paths (a.b, a[0]) are not supported by the simulator",
      );
    const match = /^[#:]?[A-Za-z0-9_]+/.exec(text.slice(i));
    if (!match)
      throw new ExpressionError(
        `Invalid expression: Syntax error; token: "${c}", near: "${text.slice(i, i + 10)}"`,
      );
    const word = match[0];
    if (word.startsWith("#")) tokens.push({ kind: "alias", text: word });
    else if (word.startsWith(":")) tokens.push({ kind: "value", text: word });
    else tokens.push({ kind: "name", text: word });
    i += word.length;
  }
  return tokens;
}

/** The names and values of one request, and which of them an expression used. */
export class ExpressionScope {
  readonly usedNames = new Set<string>();
  readonly usedValues = new Set<string>();
  private readonly names: Readonly<Record<string, string>>;
  private readonly values: Readonly<Record<string, AttributeValue>>;
  constructor(names: Readonly<Record<string, string>>, values: Readonly<Record<string, AttributeValue>>) {
    this.names = names;
    this.values = values;
  }

  name(alias: string): string {
    const name = this.names[alias];
    if (name === undefined)
      throw new ExpressionError(
        `Value provided in ExpressionAttributeNames unused in expressions or not defined: An expression attribute name used in the document path is not defined; attribute name: ${alias}`,
      );
    this.usedNames.add(alias);
    return name;
  }

  value(placeholder: string): AttributeValue {
    const value = this.values[placeholder];
    if (value === undefined)
      throw new ExpressionError(
        `Invalid expression: An expression attribute value used in expression is not defined; attribute value: ${placeholder}`,
      );
    this.usedValues.add(placeholder);
    return value;
  }

  /** DynamoDB refuses names and values a request defines but no expression uses. */
  checkAllUsed(): void {
    const unusedNames = Object.keys(this.names).filter((n) => !this.usedNames.has(n));
    if (unusedNames.length > 0)
      throw new ExpressionError(
        `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(", ")}}`,
      );
    const unusedValues = Object.keys(this.values).filter((v) => !this.usedValues.has(v));
    if (unusedValues.length > 0)
      throw new ExpressionError(
        `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(", ")}}`,
      );
  }
}

class Parser {
  private position = 0;
  private readonly tokens: Token[];
  readonly scope: ExpressionScope;
  constructor(tokens: Token[], scope: ExpressionScope) {
    this.tokens = tokens;
    this.scope = scope;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.position + offset];
  }

  next(): Token {
    const token = this.tokens[this.position++];
    if (!token) throw new ExpressionError("Invalid expression: Syntax error; token: <EOF>");
    return token;
  }

  atKeyword(word: string): boolean {
    const token = this.peek();
    return token?.kind === "name" && token.text.toUpperCase() === word;
  }

  expect(text: string): void {
    const token = this.next();
    if (token.text !== text)
      throw new ExpressionError(`Invalid expression: Syntax error; expected "${text}", got "${token.text}"`);
  }

  done(): boolean {
    return this.position >= this.tokens.length;
  }

  /** A top-level attribute name: a plain name (not a reserved word) or a #alias. */
  path(): string {
    const token = this.next();
    if (token.kind === "alias") return this.scope.name(token.text);
    if (token.kind === "name" && !KEYWORDS.has(token.text.toUpperCase())) return token.text;
    throw new ExpressionError(
      `Invalid expression: Syntax error; expected an attribute name, got "${token.text}"`,
    );
  }
}

type Operand = (item: Item | undefined) => AttributeValue | undefined;
type Condition = (item: Item | undefined) => boolean;

function operand(p: Parser): Operand {
  const token = p.peek();
  if (token?.kind === "value") {
    p.next();
    const value = p.scope.value(token.text);
    return () => value;
  }
  if (token?.kind === "name" && token.text === "size") {
    p.next();
    p.expect("(");
    const name = p.path();
    p.expect(")");
    return (item) => {
      const value = item?.[name];
      const size = value === undefined ? undefined : sizeOf(value);
      return size === undefined ? undefined : { N: String(size) };
    };
  }
  const name = p.path();
  return (item) => item?.[name];
}

function sizeOf(value: AttributeValue): number | undefined {
  if (typeof value.S === "string") return Buffer.byteLength(value.S);
  if (typeof value.B === "string") return Buffer.from(value.B, "base64").length;
  for (const key of ["L", "SS", "NS", "BS"])
    if (Array.isArray(value[key])) return (value[key] as unknown[]).length;
  if (value.M && typeof value.M === "object") return Object.keys(value.M).length;
  return undefined;
}

/** -1, 0, 1 for two scalars of the same type (S, N, B); undefined when they cannot be ordered. */
function order(a: AttributeValue | undefined, b: AttributeValue | undefined): number | undefined {
  if (!a || !b) return undefined;
  if (typeof a.N === "string" && typeof b.N === "string") {
    const x = Number(a.N);
    const y = Number(b.N);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  for (const key of ["S", "B"]) {
    const x = a[key];
    const y = b[key];
    if (typeof x === "string" && typeof y === "string") return x < y ? -1 : x > y ? 1 : 0;
  }
  return undefined;
}

function equal(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (!a || !b) return false;
  const ordered = order(a, b);
  if (ordered !== undefined) return ordered === 0;
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.entries(value as Record<string, unknown>)
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

function typeOf(value: AttributeValue): string | undefined {
  return Object.keys(value)[0];
}

const COMPARATORS: Readonly<Record<string, (x: number | undefined, eq: boolean) => boolean>> = {
  "=": (_x, eq) => eq,
  "<>": (_x, eq) => !eq,
  "<": (x) => x !== undefined && x < 0,
  "<=": (x) => x !== undefined && x <= 0,
  ">": (x) => x !== undefined && x > 0,
  ">=": (x) => x !== undefined && x >= 0,
};

function primary(p: Parser): Condition {
  const token = p.peek();
  if (token?.kind === "punct" && token.text === "(") {
    p.next();
    const inner = or(p);
    p.expect(")");
    return inner;
  }
  if (token?.kind === "name" && p.peek(1)?.text === "(" && token.text !== "size") {
    p.next();
    p.expect("(");
    const fn = token.text;
    const name = p.path();
    let result: Condition;
    switch (fn) {
      case "attribute_exists":
        result = (item) => item?.[name] !== undefined;
        break;
      case "attribute_not_exists":
        result = (item) => item?.[name] === undefined;
        break;
      case "attribute_type": {
        p.expect(",");
        const type = operand(p);
        result = (item) => {
          const value = item?.[name];
          const wanted = type(item);
          return value !== undefined && typeof wanted?.S === "string" && typeOf(value) === wanted.S;
        };
        break;
      }
      case "begins_with": {
        p.expect(",");
        const prefix = operand(p);
        result = (item) => {
          const value = item?.[name]?.S;
          const wanted = prefix(item)?.S;
          return typeof value === "string" && typeof wanted === "string" && value.startsWith(wanted);
        };
        break;
      }
      case "contains": {
        p.expect(",");
        const part = operand(p);
        result = (item) => {
          const value = item?.[name];
          const wanted = part(item);
          if (!value || !wanted) return false;
          if (typeof value.S === "string" && typeof wanted.S === "string") return value.S.includes(wanted.S);
          for (const key of ["SS", "NS", "L"])
            if (Array.isArray(value[key]))
              return (value[key] as unknown[]).some((v) =>
                key === "L" ? equal(v as AttributeValue, wanted) : v === (wanted.S ?? wanted.N),
              );
          return false;
        };
        break;
      }
      default:
        throw new ExpressionError(`Invalid expression: Invalid function name; function: ${fn}`);
    }
    p.expect(")");
    return result;
  }
  const left = operand(p);
  if (p.atKeyword("BETWEEN")) {
    p.next();
    const low = operand(p);
    if (!p.atKeyword("AND")) throw new ExpressionError("Invalid expression: BETWEEN needs AND");
    p.next();
    const high = operand(p);
    return (item) => {
      const value = left(item);
      const a = order(value, low(item));
      const b = order(value, high(item));
      return a !== undefined && b !== undefined && a >= 0 && b <= 0;
    };
  }
  if (p.atKeyword("IN")) {
    p.next();
    p.expect("(");
    const options = [operand(p)];
    while (p.peek()?.text === ",") {
      p.next();
      options.push(operand(p));
    }
    p.expect(")");
    return (item) => options.some((option) => equal(left(item), option(item)));
  }
  const op = p.next();
  const compare = op.kind === "op" ? COMPARATORS[op.text] : undefined;
  if (!compare) throw new ExpressionError(`Invalid expression: Syntax error; token: "${op.text}"`);
  const right = operand(p);
  return (item) => {
    const a = left(item);
    const b = right(item);
    return compare(order(a, b), equal(a, b));
  };
}

function not(p: Parser): Condition {
  if (p.atKeyword("NOT")) {
    p.next();
    const inner = not(p);
    return (item) => !inner(item);
  }
  return primary(p);
}

function and(p: Parser): Condition {
  let left = not(p);
  while (p.atKeyword("AND")) {
    p.next();
    const a = left;
    const b = not(p);
    left = (item) => a(item) && b(item);
  }
  return left;
}

function or(p: Parser): Condition {
  let left = and(p);
  while (p.atKeyword("OR")) {
    p.next();
    const a = left;
    const b = and(p);
    left = (item) => a(item) || b(item);
  }
  return left;
}

/** Parses a ConditionExpression; the result tells whether an item (undefined: none) satisfies it. */
export function parseCondition(text: string, scope: ExpressionScope): Condition {
  const parser = new Parser(tokenize(text), scope);
  const condition = or(parser);
  if (!parser.done())
    throw new ExpressionError(`Invalid ConditionExpression: Syntax error; token: "${parser.peek()?.text}"`);
  return condition;
}

type Update = (item: Item) => Item;

function setValue(p: Parser): Operand {
  const token = p.peek();
  if (token?.kind === "name" && token.text === "if_not_exists") {
    p.next();
    p.expect("(");
    const name = p.path();
    p.expect(",");
    const fallback = operand(p);
    p.expect(")");
    return (item) => item?.[name] ?? fallback(item);
  }
  const first = operand(p);
  const op = p.peek();
  if (op?.kind === "op" && (op.text === "+" || op.text === "-")) {
    p.next();
    const second = operand(p);
    return (item) => {
      const a = first(item)?.N;
      const b = second(item)?.N;
      if (typeof a !== "string" || typeof b !== "string")
        throw new ExpressionError("An operand in the update expression has an incorrect data type");
      return { N: String(op.text === "+" ? Number(a) + Number(b) : Number(a) - Number(b)) };
    };
  }
  return first;
}

/** Parses an UpdateExpression into a function from the old item (or {}) to the new one. */
export function parseUpdate(text: string, scope: ExpressionScope): Update {
  const parser = new Parser(tokenize(text), scope);
  const steps: Update[] = [];
  while (!parser.done()) {
    const clause = parser.next();
    const word = clause.text.toUpperCase();
    if (clause.kind !== "name" || (word !== "SET" && word !== "REMOVE")) {
      if (word === "ADD" || word === "DELETE")
        throw new ExpressionError(`Invalid UpdateExpression: ${word} is not supported by the simulator`);
      throw new ExpressionError(`Invalid UpdateExpression: Syntax error; token: "${clause.text}"`);
    }
    for (;;) {
      const name = parser.path();
      if (word === "SET") {
        parser.expect("=");
        const value = setValue(parser);
        steps.push((item) => {
          const computed = value(item);
          if (computed === undefined)
            throw new ExpressionError(
              "The provided expression refers to an attribute that does not exist in the item",
            );
          return { ...item, [name]: computed };
        });
      } else {
        steps.push((item) => {
          const { [name]: _removed, ...rest } = item;
          return rest;
        });
      }
      if (parser.peek()?.text !== ",") break;
      parser.next();
    }
  }
  if (steps.length === 0)
    throw new ExpressionError("Invalid UpdateExpression: The expression can not be empty;");
  return (item) => steps.reduce((current, step) => step(current), item);
}
