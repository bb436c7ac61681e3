// A faster reader for ListObjectsV2 pages, put in front of the S3 client's own protocol (the same idea as
// fast-describe-images.ts for EC2): listing a bucket of 80,000 objects (80 pages) spent over a second of CPU
// in the SDK's generic XML parser and schema walk, more than the rest of `leaven contains` together. This
// reads the one document a listing page is with a specialised scanner; every other operation, every error
// (status ≥ 300) and any body it does not recognise go to the SDK's deserialiser unchanged.
// test/cloud/fast-list-objects.test.ts proves both readers give the same pages.
import type { S3Client } from "@aws-sdk/client-s3";
import { collectBody } from "@smithy/core/protocols";
import type { MetadataBearer } from "@smithy/types";
import { decodeXmlText } from "./xml-entities.ts";

/** What a page gives the adapter, in the SDK's ListObjectsV2CommandOutput shape. */
export interface ListObjectsPage {
  Name?: string;
  Prefix?: string;
  KeyCount?: number;
  MaxKeys?: number;
  IsTruncated?: boolean;
  ContinuationToken?: string;
  NextContinuationToken?: string;
  StartAfter?: string;
  /** Each object's key, date, ETag and size (the storage class is not read: Leaven does not use it). */
  Contents?: { Key?: string; LastModified?: Date; ETag?: string; Size?: number }[];
}

function decode(text: string): string {
  const amp = text.indexOf("&");
  if (amp < 0) return text;
  // An ETag: "&quot;<hex>&quot;" (every object has one), without the general replace.
  if (
    amp === 0 &&
    text.startsWith("&quot;") &&
    text.endsWith("&quot;") &&
    text.indexOf("&", 6) === text.length - 6
  )
    return `"${text.slice(6, -6)}"`;
  return decodeXmlText(text);
}

/** The text of the first `<name>…</name>` in `xml` from `from` up to `end`, or undefined. */
function field(xml: string, name: string, from: number, end: number): string | undefined {
  const open = xml.indexOf(`<${name}>`, from);
  if (open < 0 || open >= end) return undefined;
  const start = open + name.length + 2;
  const close = xml.indexOf(`</${name}>`, start);
  return close < 0 || close > end ? undefined : decode(xml.slice(start, close));
}

const TOP = [
  "Name",
  "Prefix",
  "KeyCount",
  "MaxKeys",
  "IsTruncated",
  "ContinuationToken",
  "NextContinuationToken",
  "StartAfter",
];

/**
 * A ListBucketResult page, or undefined for anything else (a page with CommonPrefixes, an encoding type,
 * an element this reader does not know): the SDK reads those.
 */
export function parseListObjects(xml: string): ListObjectsPage | undefined {
  const root = xml.indexOf("<ListBucketResult");
  if (root < 0 || xml.includes("<CommonPrefixes>") || xml.includes("<EncodingType>")) return undefined;
  const page: ListObjectsPage = {};
  const contents: NonNullable<ListObjectsPage["Contents"]> = [];
  // S3's own layout (Key, LastModified, ETag, checksums, Size, then flat elements) in one pass of a regular
  // expression; any other layout (an Owner, elements in another order) by the general scanner below.
  let matched = 0;
  let end = root;
  for (const m of xml.matchAll(CONTENTS)) {
    if (m.index !== end && xml.slice(end, m.index).includes("<Contents>")) break;
    contents.push({
      Key: decode(m[1]!),
      LastModified: new Date(m[2]!),
      ETag: decode(m[3]!),
      Size: Number(m[4]),
    });
    matched++;
    end = m.index + m[0].length;
  }
  if (matched > 0 && matched === count(xml, "<Contents>")) {
    const outside = xml.slice(root, xml.indexOf("<Contents>", root)) + xml.slice(end);
    top(page, outside);
    page.Contents = contents;
    return page;
  }
  contents.length = 0;
  // The page's own fields are outside the Contents elements: read them from the text with those cut out.
  let outside = "";
  let at = root;
  for (;;) {
    const open = xml.indexOf("<Contents>", at);
    if (open < 0) {
      outside += xml.slice(at);
      break;
    }
    outside += xml.slice(at, open);
    const close = xml.indexOf("</Contents>", open);
    if (close < 0) return undefined;
    const start = open + "<Contents>".length;
    const key = field(xml, "Key", start, close);
    if (key === undefined) return undefined;
    const object: NonNullable<ListObjectsPage["Contents"]>[number] = { Key: key };
    const modified = field(xml, "LastModified", start, close);
    if (modified !== undefined) object.LastModified = new Date(modified);
    const etag = field(xml, "ETag", start, close);
    if (etag !== undefined) object.ETag = etag;
    const size = field(xml, "Size", start, close);
    if (size !== undefined) object.Size = Number(size);
    contents.push(object);
    at = close + "</Contents>".length;
  }
  top(page, outside);
  if (contents.length > 0) page.Contents = contents;
  return page;
}

const CONTENTS =
  /<Contents><Key>([^<]*)<\/Key><LastModified>([^<]*)<\/LastModified><ETag>([^<]*)<\/ETag>(?:<Checksum\w*>[^<]*<\/Checksum\w*>)*<Size>(\d+)<\/Size>(?:<(\w+)>[^<]*<\/\5>)*<\/Contents>/g;

function count(text: string, what: string): number {
  let n = 0;
  for (let at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + what.length)) n++;
  return n;
}

/** The page's own fields, from the text outside its Contents elements. */
function top(page: ListObjectsPage, outside: string): void {
  for (const name of TOP) {
    const value = field(outside, name, 0, outside.length);
    if (value === undefined) continue;
    if (name === "KeyCount" || name === "MaxKeys") page[name] = Number(value);
    else if (name === "IsTruncated") page.IsTruncated = value === "true";
    else page[name as "Name"] = value;
  }
}

type Protocol = {
  deserializeResponse(
    operationSchema: { name: string },
    context: unknown,
    response: Response,
  ): Promise<unknown>;
  deserializeMetadata?(response: Response): unknown;
};
type Response = { statusCode: number; headers: Record<string, string>; body: unknown };

/** Puts the scanner in front of the client's protocol for ListObjectsV2 pages. */
export function withFastListObjects(client: S3Client): void {
  const protocol = (client.config as unknown as { protocol?: Protocol }).protocol;
  if (!protocol || typeof protocol.deserializeResponse !== "function") return;
  const sdk = protocol.deserializeResponse.bind(protocol);
  protocol.deserializeResponse = async (operationSchema, context, response) => {
    const name = operationSchema.name;
    if (response.statusCode >= 300 || !(name === "ListObjectsV2" || name.endsWith("#ListObjectsV2")))
      return sdk(operationSchema, context, response);
    const bytes = await collectBody(response.body as never, context as never);
    const parsed = parseListObjects(new TextDecoder().decode(bytes));
    if (!parsed) {
      response.body = bytes;
      return sdk(operationSchema, context, response);
    }
    const $metadata = protocol.deserializeMetadata?.(response) ?? {
      httpStatusCode: response.statusCode,
    };
    return { ...parsed, $metadata } satisfies ListObjectsPage & MetadataBearer as unknown;
  };
}
