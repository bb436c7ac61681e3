// Serialises response values in the EC2 Query protocol's XML shape: objects become nested elements,
// arrays become `<name><item>…</item></name>` lists, undefined members are left out.

export type XmlValue = string | number | boolean | Date | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  [element: string]: XmlValue;
}

export const EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/";

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c]!);
}

function scalar(value: string | number | boolean | Date): string {
  if (value instanceof Date) return value.toISOString();
  return escapeXml(String(value));
}

function writeValue(out: string[], name: string, value: XmlValue): void {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    out.push(`<${name}>`);
    for (const item of value) {
      if (item === undefined) continue;
      writeValue(out, "item", item);
    }
    out.push(`</${name}>`);
    return;
  }
  if (typeof value === "object" && !(value instanceof Date)) {
    out.push(`<${name}>`);
    writeMembers(out, value);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${scalar(value)}</${name}>`);
}

function writeMembers(out: string[], object: XmlObject): void {
  for (const [name, value] of Object.entries(object)) writeValue(out, name, value);
}

/** A successful response: `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`. */
export function responseXml(action: string, requestId: string, body: XmlObject): string {
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">`];
  out.push(`<requestId>${escapeXml(requestId)}</requestId>`);
  writeMembers(out, body);
  out.push(`</${action}Response>`);
  return out.join("");
}

/** An error response exactly as EC2 shapes it (note `RequestID`, not `requestId`). */
export function errorXml(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`
  );
}
