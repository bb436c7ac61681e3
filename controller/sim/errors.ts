// An EC2 error as the simulator returns it on the wire: the AWS error code, its message and the HTTP status.
export class SimError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = "SimError";
    this.code = code;
    this.status = status;
  }
}

export function missingParameter(name: string): SimError {
  return new SimError("MissingParameter", `The request must contain the parameter ${name}`);
}

export function invalidParameterValue(message: string): SimError {
  return new SimError("InvalidParameterValue", message);
}

export function malformedId(code: string, id: string, prefix: string): SimError {
  return new SimError(code, `Invalid id: "${id}" (expecting "${prefix}-...")`);
}

/** AWS's wording for one or several missing ids of the same kind. */
export function notFound(code: string, noun: string, ids: string[]): SimError {
  const list = ids.join(", ");
  return ids.length === 1
    ? new SimError(code, `The ${noun} '${list}' does not exist`)
    : new SimError(code, `The ${noun}s '${list}' do not exist`);
}
