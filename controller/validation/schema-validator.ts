// The JSON Schema check, compiled once per process (compiling costs far more than validating a document).
import { Ajv, type ValidateFunction } from "ajv";
import schema from "../../schemas/imagespec.schema.json" with { type: "json" };
import { type SchemaProblem, translateSchemaErrors } from "./schema-messages.ts";

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // verbose: errors carry the failing value and schema, which the messages quote.
  compiled ??= new Ajv({ allErrors: true, verbose: true, strict: true }).compile(schema);
  return compiled;
}

/** Problems with a document against schemas/imagespec.schema.json; empty when it conforms. */
export function checkSchema(document: unknown): SchemaProblem[] {
  const validate = validator();
  if (validate(document)) return [];
  return translateSchemaErrors(validate.errors ?? [], document, schema as Record<string, unknown>);
}
