// A faster reader for DescribeImages pages, plugged into the SDK's own extension point: the client's
// `protocol` (a subclass of the SDK's AwsEc2QueryProtocol). A full walk of 400k images spent most of its CPU
// in the SDK's generic XML parser and schema walk; this reads the one response shape a walk is made of with
// a specialised scanner. Everything else — every other operation, every error document (status ≥ 300), a
// body this scanner does not recognise — goes to the SDK's own deserialiser unchanged.
// test/cloud/fast-describe-images.test.ts proves both readers give the same images on recorded pages.
import type { Image as Ec2Image } from "@aws-sdk/client-ec2";
import { AwsEc2QueryProtocol } from "@aws-sdk/core/protocols";
import { collectBody } from "@smithy/core/protocols";
import type { MetadataBearer } from "@smithy/types";
import { decodeXmlText as decode } from "./xml-entities.ts";

type DeserializeArgs = Parameters<AwsEc2QueryProtocol["deserializeResponse"]>;

export class FastEc2QueryProtocol extends AwsEc2QueryProtocol {
  override async deserializeResponse<Output extends MetadataBearer>(
    operationSchema: DeserializeArgs[0],
    context: DeserializeArgs[1],
    response: DeserializeArgs[2],
  ): Promise<Output> {
    const name = operationSchema.name;
    if (response.statusCode >= 300 || !(name === "DescribeImages" || name.endsWith("#DescribeImages")))
      return super.deserializeResponse<Output>(operationSchema, context, response);
    const bytes = await collectBody(response.body, context);
    const parsed = parseDescribeImages(new TextDecoder().decode(bytes));
    if (!parsed) {
      // Not the document this reader knows: let the SDK read it (it sees the same bytes).
      response.body = bytes;
      return super.deserializeResponse<Output>(operationSchema, context, response);
    }
    for (const header of Object.keys(response.headers)) {
      const value = response.headers[header]!;
      delete response.headers[header];
      response.headers[header.toLowerCase()] = value;
    }
    // The shape the SDK's DescribeImagesCommand output has (test/cloud/fast-describe-images.test.ts).
    return { ...parsed, $metadata: this.deserializeMetadata(response) } as unknown as Output;
  }
}

export interface DescribeImagesPage {
  Images: Ec2Image[];
  NextToken?: string;
}

// The response read as a schema walk over the text itself: no element tree. Each struct is a table from its
// XML element names to an output key and kind ("unique": a string no other image has, copied without the
// table of shared values); an element the table does not name (a field newer than this
// reader) is skipped whole, so the SDK and this reader agree on every field the table names.
type Kind = "string" | "unique" | "boolean" | "integer" | { struct: Shape } | { list: Shape };
type Shape = Record<string, [string, Kind]>;

const STATE_REASON: Shape = { code: ["Code", "string"], message: ["Message", "string"] };
const EBS: Shape = {
  snapshotId: ["SnapshotId", "unique"],
  volumeSize: ["VolumeSize", "integer"],
  volumeType: ["VolumeType", "string"],
  deleteOnTermination: ["DeleteOnTermination", "boolean"],
  encrypted: ["Encrypted", "boolean"],
  kmsKeyId: ["KmsKeyId", "string"],
  iops: ["Iops", "integer"],
  throughput: ["Throughput", "integer"],
};
const MAPPING: Shape = {
  deviceName: ["DeviceName", "string"],
  virtualName: ["VirtualName", "string"],
  noDevice: ["NoDevice", "string"],
  ebs: ["Ebs", { struct: EBS }],
};
const TAG: Shape = { key: ["Key", "string"], value: ["Value", "string"] };
const IMAGE: Shape = {
  imageId: ["ImageId", "unique"],
  imageLocation: ["ImageLocation", "unique"],
  imageState: ["State", "string"],
  imageOwnerId: ["OwnerId", "string"],
  creationDate: ["CreationDate", "unique"],
  isPublic: ["Public", "boolean"],
  architecture: ["Architecture", "string"],
  imageType: ["ImageType", "string"],
  name: ["Name", "unique"],
  description: ["Description", "unique"],
  rootDeviceType: ["RootDeviceType", "string"],
  rootDeviceName: ["RootDeviceName", "string"],
  virtualizationType: ["VirtualizationType", "string"],
  hypervisor: ["Hypervisor", "string"],
  platformDetails: ["PlatformDetails", "string"],
  usageOperation: ["UsageOperation", "string"],
  enaSupport: ["EnaSupport", "boolean"],
  sriovNetSupport: ["SriovNetSupport", "string"],
  bootMode: ["BootMode", "string"],
  tpmSupport: ["TpmSupport", "string"],
  imdsSupport: ["ImdsSupport", "string"],
  deprecationTime: ["DeprecationTime", "string"],
  sourceInstanceId: ["SourceInstanceId", "unique"],
  sourceImageId: ["SourceImageId", "string"],
  sourceImageRegion: ["SourceImageRegion", "string"],
  deregistrationProtection: ["DeregistrationProtection", "string"],
  lastLaunchedTime: ["LastLaunchedTime", "unique"],
  imageAllowed: ["ImageAllowed", "boolean"],
  stateReason: ["StateReason", { struct: STATE_REASON }],
  blockDeviceMapping: ["BlockDeviceMappings", { list: MAPPING }],
  tagSet: ["Tags", { list: TAG }],
};
const RESPONSE: Shape = {
  imagesSet: ["Images", { list: IMAGE }],
  nextToken: ["NextToken", "string"],
};

class Unreadable extends Error {}

/**
 * A value the inventory keeps, as a string of its own. V8 makes a slice of 13 characters or more a view of the
 * whole page's text, so one kept tag value would keep a page (megabytes, outside the heap) alive as long as the
 * image is cached. Values repeat across images (regions, states, owner ids, spec names, build ids, "true"):
 * the same string is handed out for each, from a bounded table, short ones too (400k copies of "us-east-1"
 * and "available" were a third of a full walk's strings). Ids (an image's own, and the copies' ids its tags
 * name) are unique: copied without the table, which then holds only what repeats.
 */
const owned = new Map<string, string>();
const MAX_OWNED = 50_000;

function own(value: string): string {
  if (value.startsWith("ami-")) return flat(value);
  const known = owned.get(value);
  if (known !== undefined) return known;
  if (owned.size >= MAX_OWNED) owned.clear();
  const copy = flat(value);
  owned.set(copy, copy);
  return copy;
}

/** A copy of `value` that is no view of another string: a short slice is one already; a long one goes through JSON. */
function flat(value: string): string {
  return value.length < 13 ? value : (JSON.parse(JSON.stringify(value)) as string);
}

/** Reads the XML text of one response; throws Unreadable for anything it does not expect. */
class Reader {
  private i = 0;
  private readonly xml: string;
  constructor(xml: string) {
    this.xml = xml;
  }

  /** The next tag from here: its name, whether it closes, whether it is self-closing; undefined at the end. */
  private tag(): { name: string; close: boolean; empty: boolean } | undefined {
    const { xml } = this;
    for (;;) {
      const lt = xml.indexOf("<", this.i);
      if (lt === -1) return undefined;
      const next = xml.charCodeAt(lt + 1);
      if (next === 33 /* ! */) throw new Unreadable("comment or CDATA");
      const gt = xml.indexOf(">", lt);
      if (gt === -1) throw new Unreadable("unterminated tag");
      this.i = gt + 1;
      if (next === 63 /* ? */) continue;
      if (next === 47 /* / */) return { name: xml.slice(lt + 2, gt).trim(), close: true, empty: false };
      const empty = xml.charCodeAt(gt - 1) === 47;
      const body = xml.slice(lt + 1, empty ? gt - 1 : gt);
      const space = body.indexOf(" ");
      return { name: space === -1 ? body : body.slice(0, space), close: false, empty };
    }
  }

  /** The text up to the closing tag of `name` (a leaf). */
  private leaf(name: string, unique: boolean): string {
    const { xml } = this;
    const lt = xml.indexOf("<", this.i);
    if (lt === -1 || xml.charCodeAt(lt + 1) !== 47) throw new Unreadable(`${name} is not a leaf`);
    const raw = xml.slice(this.i, lt);
    const closing = this.tag();
    if (!closing?.close || closing.name !== name) throw new Unreadable(`${name} is not closed`);
    return unique ? flat(decode(raw)) : own(decode(raw));
  }

  /** Skips the element just opened (`name`), whatever it holds. */
  private skip(name: string): void {
    let depth = 1;
    while (depth > 0) {
      const t = this.tag();
      if (!t) throw new Unreadable(`${name} is not closed`);
      if (t.empty) continue;
      if (t.close) depth--;
      else depth++;
    }
  }

  /** The children of the element `name` just opened, into a new object by `shape`, up to its closing tag. */
  struct(name: string, shape: Shape): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const t = this.tag();
      if (!t) throw new Unreadable(`${name} is not closed`);
      if (t.close) {
        if (t.name !== name) throw new Unreadable(`${t.name} closes ${name}`);
        return out;
      }
      const field = shape[t.name];
      if (!field) {
        if (!t.empty) this.skip(t.name);
        continue;
      }
      const [key, kind] = field;
      if (typeof kind === "object" && "list" in kind) {
        const list: unknown[] = [];
        out[key] = list;
        if (t.empty) continue;
        for (;;) {
          const item = this.tag();
          if (!item) throw new Unreadable(`${t.name} is not closed`);
          if (item.close) break;
          if (item.name !== "item") throw new Unreadable(`${item.name} in ${t.name}`);
          list.push(item.empty ? {} : this.struct("item", kind.list));
        }
        continue;
      }
      if (typeof kind === "object") {
        out[key] = t.empty ? {} : this.struct(t.name, kind.struct);
        continue;
      }
      const text = t.empty ? "" : this.leaf(t.name, kind === "unique");
      out[key] =
        kind === "string" || kind === "unique"
          ? text
          : kind === "boolean"
            ? text === "true"
            : Number.parseInt(text, 10);
    }
  }

  /** The document's root element, read by `shape`, or undefined when it is not `root`. */
  document(root: string, shape: Shape): Record<string, unknown> | undefined {
    const t = this.tag();
    if (!t || t.close || t.name !== root) return undefined;
    const out = t.empty ? {} : this.struct(root, shape);
    if (this.tag() !== undefined) throw new Unreadable("content after the root");
    return out;
  }
}

/** A DescribeImages response body as the SDK's output shape; undefined for any other document. */
export function parseDescribeImages(xml: string): DescribeImagesPage | undefined {
  try {
    const out = new Reader(xml).document("DescribeImagesResponse", RESPONSE);
    if (!out) return undefined;
    const page: DescribeImagesPage = { Images: (out.Images as Ec2Image[] | undefined) ?? [] };
    if (out.NextToken) page.NextToken = out.NextToken as string;
    return page;
  } catch (error) {
    if (error instanceof Unreadable) return undefined;
    throw error;
  }
}
