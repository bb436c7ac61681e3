// Discovery documents (legacy, unaggregated form, which clients fall back to): /api, /api/v1, /apis,
// /apis/<group>, /apis/<group>/<version> and /version.
import type { ResourceRegistry } from "./resource-registry.ts";
import { apiVersionOf, type JsonRecord, type ResourceType } from "./types.ts";

export const SERVER_VERSION = {
  major: "1",
  minor: "33",
  gitVersion: "v1.33.0-leaven-test",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "go1.24.0",
  compiler: "gc",
  platform: "linux/amd64",
};

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function apiResources(type: ResourceType): JsonRecord[] {
  const main: JsonRecord = {
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: VERBS,
  };
  if (type.shortNames.length > 0) main.shortNames = type.shortNames;
  if (type.categories.length > 0) main.categories = type.categories;
  const resources = [main];
  if (type.statusSubresource)
    resources.push({
      name: `${type.plural}/status`,
      singularName: "",
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: ["get", "patch", "update"],
    });
  return resources;
}

export function apiVersions(serverAddress: string): JsonRecord {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

export function resourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): JsonRecord | undefined {
  const types = registry.resourcesOf(group, version);
  if (types.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group, version }),
    resources: types.flatMap(apiResources),
  };
}

function groupDocument(name: string, versions: string[]): JsonRecord {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

export function groupList(registry: ResourceRegistry): JsonRecord {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: registry.groups().map((g) => groupDocument(g.name, g.versions)),
  };
}

export function group(registry: ResourceRegistry, name: string): JsonRecord | undefined {
  const found = registry.groups().find((g) => g.name === name);
  return found
    ? { kind: "APIGroup", apiVersion: "v1", ...groupDocument(found.name, found.versions) }
    : undefined;
}
