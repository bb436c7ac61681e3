// The request side of the EC2 Query protocol: a form-encoded body of flattened parameters
// (`Filter.1.Name`, `Filter.1.Value.1`, `ImageId.1`, …) and the region from the SigV4 credential scope.
import { invalidParameterValue, missingParameter, SimError } from "./errors.ts";

/** A view over the flattened parameters, optionally below a prefix such as `Filter.1`. */
export class Params {
  private readonly entries: ReadonlyMap<string, string>;
  constructor(entries: ReadonlyMap<string, string>) {
    this.entries = entries;
  }

  static fromForm(body: string): Params {
    return new Params(new Map(new URLSearchParams(body)));
  }

  get(name: string): string | undefined {
    return this.entries.get(name);
  }

  require(name: string, shownAs: string = name): string {
    const value = this.entries.get(name);
    if (value === undefined || value === "") throw missingParameter(shownAs);
    return value;
  }

  bool(name: string): boolean | undefined {
    const value = this.entries.get(name);
    if (value === undefined) return undefined;
    if (value === "true") return true;
    if (value === "false") return false;
    throw invalidParameterValue(
      `Value (${value}) for parameter ${name} is invalid. Expected 'true' or 'false'.`,
    );
  }

  int(name: string): number | undefined {
    const value = this.entries.get(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) {
      throw invalidParameterValue(`Value (${value}) for parameter ${name} is invalid. Expected an integer.`);
    }
    return Number(value);
  }

  /** The sorted list indices N present below `prefix.N`. */
  indices(prefix: string): number[] {
    const found = new Set<number>();
    const start = `${prefix}.`;
    for (const key of this.entries.keys()) {
      if (!key.startsWith(start)) continue;
      const rest = key.slice(start.length);
      const dot = rest.indexOf(".");
      const index = Number(dot === -1 ? rest : rest.slice(0, dot));
      if (Number.isInteger(index) && index > 0) found.add(index);
    }
    return [...found].sort((a, b) => a - b);
  }

  /** A flattened list of scalars: `ImageId.1`, `ImageId.2`, … */
  list(prefix: string): string[] {
    return this.indices(prefix)
      .map((i) => this.entries.get(`${prefix}.${i}`))
      .filter((v): v is string => v !== undefined);
  }

  /** The parameters below `prefix.`, e.g. `sub("Filter.1")` holds `Name` and `Value.1`. */
  sub(prefix: string): Params {
    const start = `${prefix}.`;
    const entries = new Map<string, string>();
    for (const [key, value] of this.entries) {
      if (key.startsWith(start)) entries.set(key.slice(start.length), value);
    }
    return new Params(entries);
  }

  /** A flattened list of structures: `Filter.1.*`, `Filter.2.*`, … */
  structs(prefix: string): Params[] {
    return this.indices(prefix).map((i) => this.sub(`${prefix}.${i}`));
  }

  /** The parameters as a plain record, e.g. to keep a request's structure as it was sent. */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.entries);
  }

  isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** A stable fingerprint of the parameters, minus the named ones (used for ClientToken idempotency). */
  fingerprint(exclude: readonly string[]): string {
    return JSON.stringify(
      [...this.entries]
        .filter(([key]) => !exclude.includes(key))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
}

export interface EC2Filter {
  name: string;
  values: string[];
}

export function filtersOf(params: Params): EC2Filter[] {
  return params
    .structs("Filter")
    .map((f) => ({ name: f.require("Name", "Filter.N.Name"), values: f.list("Value") }));
}

const credentialPattern = /Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request/;

/** The access key id a SigV4-signed request was signed with; undefined when it is not signed so. */
export function accessKeyFromAuthorization(header: string | undefined): string | undefined {
  return header ? credentialPattern.exec(header)?.[1] : undefined;
}

/** The region a SigV4-signed request was signed for, from `Credential=AKID/date/region/ec2/aws4_request`. */
export function regionFromAuthorization(header: string | undefined): string {
  if (!header) {
    throw new SimError("MissingAuthenticationToken", "Request is missing Authentication Token", 401);
  }
  const match = credentialPattern.exec(header);
  if (!match) {
    throw new SimError("AuthFailure", "AWS was not able to validate the provided access credentials", 401);
  }
  return match[3]!;
}
