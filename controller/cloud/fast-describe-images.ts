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

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, entity: string) => {
    if (entity[0] === "#")
      return String.fromCodePoint(
        entity[1] === "x" ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10),
      );
    return ENTITIES[entity] ?? whole;
  });
}

/** A tiny XML element tree: enough for EC2's responses (no attributes used, no mixed content). */
interface Element {
  name: string;
  children: Element[];
  text: string;
}

/**
 * Parses EC2 response XML into elements. Undefined for anything it does not expect (CDATA, comments,
 * processing instructions other than the declaration, a malformed document): the caller falls back.
 */
function parseXml(xml: string): Element | undefined {
  const root: Element = { name: "", children: [], text: "" };
  const stack: Element[] = [root];
  let i = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf("<", i);
    if (lt === -1) break;
    if (lt > i) {
      const top = stack[stack.length - 1]!;
      top.text += xml.slice(i, lt);
    }
    const next = xml.charCodeAt(lt + 1);
    if (next === 63 /* ? */) {
      const end = xml.indexOf("?>", lt);
      if (end === -1) return undefined;
      i = end + 2;
      continue;
    }
    if (next === 33 /* ! */) return undefined;
    const gt = xml.indexOf(">", lt);
    if (gt === -1) return undefined;
    if (next === 47 /* / */) {
      const name = xml.slice(lt + 2, gt).trim();
      const top = stack.pop();
      if (!top || top.name !== name || stack.length === 0) return undefined;
      i = gt + 1;
      continue;
    }
    const selfClosing = xml.charCodeAt(gt - 1) === 47;
    const tag = xml.slice(lt + 1, selfClosing ? gt - 1 : gt);
    const space = tag.search(/\s/);
    const element: Element = { name: space === -1 ? tag : tag.slice(0, space), children: [], text: "" };
    stack[stack.length - 1]!.children.push(element);
    if (!selfClosing) stack.push(element);
    i = gt + 1;
  }
  if (stack.length !== 1) return undefined;
  return root.children.length === 1 ? root.children[0] : undefined;
}

function child(element: Element, name: string): Element | undefined {
  for (const c of element.children) if (c.name === name) return c;
  return undefined;
}

function text(element: Element, name: string): string | undefined {
  const c = child(element, name);
  return c === undefined ? undefined : decode(c.text);
}

function items(element: Element | undefined): Element[] {
  return element ? element.children.filter((c) => c.name === "item") : [];
}

function bool(value: string | undefined): boolean | undefined {
  return value === undefined ? undefined : value === "true";
}

function int(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

/** Keeps only the keys whose value is defined, as the SDK's output has no undefined members. */
function defined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

function image(item: Element): Ec2Image {
  const stateReason = child(item, "stateReason");
  return defined({
    ImageId: text(item, "imageId"),
    ImageLocation: text(item, "imageLocation"),
    State: text(item, "imageState") as Ec2Image["State"],
    OwnerId: text(item, "imageOwnerId"),
    CreationDate: text(item, "creationDate"),
    Public: bool(text(item, "isPublic")),
    Architecture: text(item, "architecture") as Ec2Image["Architecture"],
    ImageType: text(item, "imageType") as Ec2Image["ImageType"],
    Name: text(item, "name"),
    Description: text(item, "description"),
    RootDeviceType: text(item, "rootDeviceType") as Ec2Image["RootDeviceType"],
    RootDeviceName: text(item, "rootDeviceName"),
    VirtualizationType: text(item, "virtualizationType") as Ec2Image["VirtualizationType"],
    Hypervisor: text(item, "hypervisor") as Ec2Image["Hypervisor"],
    PlatformDetails: text(item, "platformDetails"),
    UsageOperation: text(item, "usageOperation"),
    EnaSupport: bool(text(item, "enaSupport")),
    SriovNetSupport: text(item, "sriovNetSupport"),
    BootMode: text(item, "bootMode") as Ec2Image["BootMode"],
    TpmSupport: text(item, "tpmSupport") as Ec2Image["TpmSupport"],
    ImdsSupport: text(item, "imdsSupport") as Ec2Image["ImdsSupport"],
    DeprecationTime: text(item, "deprecationTime"),
    SourceInstanceId: text(item, "sourceInstanceId"),
    SourceImageId: text(item, "sourceImageId"),
    SourceImageRegion: text(item, "sourceImageRegion"),
    DeregistrationProtection: text(item, "deregistrationProtection"),
    LastLaunchedTime: text(item, "lastLaunchedTime"),
    ImageAllowed: bool(text(item, "imageAllowed")),
    StateReason: stateReason
      ? defined({ Code: text(stateReason, "code"), Message: text(stateReason, "message") })
      : undefined,
    BlockDeviceMappings: child(item, "blockDeviceMapping")
      ? items(child(item, "blockDeviceMapping")).map((m) => {
          const ebs = child(m, "ebs");
          return defined({
            DeviceName: text(m, "deviceName"),
            VirtualName: text(m, "virtualName"),
            NoDevice: text(m, "noDevice"),
            Ebs: ebs
              ? defined({
                  SnapshotId: text(ebs, "snapshotId"),
                  VolumeSize: int(text(ebs, "volumeSize")),
                  VolumeType: text(ebs, "volumeType") as NonNullable<
                    NonNullable<Ec2Image["BlockDeviceMappings"]>[number]["Ebs"]
                  >["VolumeType"],
                  DeleteOnTermination: bool(text(ebs, "deleteOnTermination")),
                  Encrypted: bool(text(ebs, "encrypted")),
                  KmsKeyId: text(ebs, "kmsKeyId"),
                  Iops: int(text(ebs, "iops")),
                  Throughput: int(text(ebs, "throughput")),
                })
              : undefined,
          });
        })
      : undefined,
    Tags: child(item, "tagSet")
      ? items(child(item, "tagSet")).map((t) => defined({ Key: text(t, "key"), Value: text(t, "value") }))
      : undefined,
  });
}

/** A DescribeImages response body as the SDK's output shape; undefined for any other document. */
export function parseDescribeImages(xml: string): DescribeImagesPage | undefined {
  const root = parseXml(xml);
  if (!root || root.name !== "DescribeImagesResponse") return undefined;
  const set = child(root, "imagesSet");
  const nextToken = text(root, "nextToken");
  return {
    Images: items(set).map(image),
    ...(nextToken ? { NextToken: nextToken } : {}),
  };
}
