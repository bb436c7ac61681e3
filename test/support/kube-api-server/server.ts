// The HTTP face of the in-process Kubernetes API server: routes requests the way kube-apiserver lays out
// its paths, decodes query parameters and bodies, and answers JSON (Status objects for failures).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  badRequest,
  KubeApiError,
  methodNotAllowed,
  notFoundPath,
  unsupportedMediaType,
} from "./api-errors.ts";
import { apiVersions, group, groupList, resourceList, SERVER_VERSION } from "./discovery.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { openApiDocument, openApiIndex } from "./openapi.ts";
import { type FieldValidation, KubeOperations, type ListOptions, type WriteOptions } from "./operations.ts";
import { ResourceRegistry } from "./resource-registry.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { ObjectStore } from "./store.ts";
import { toTable, wantsTable } from "./table.ts";
import { apiVersionOf, type JsonRecord, type KubeObject, type ResourceType } from "./types.ts";
import { WatchHub } from "./watch.ts";

export interface KubeApiServerOptions {
  /** Change events kept for watches (default 1000); older resourceVersions are answered 410 Expired. */
  historyLimit?: number;
  /** Bookmark interval on watches that allow them; 0 (default) sends them only on sendBookmarks(). */
  bookmarkIntervalMs?: number;
  /** Namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease). */
  namespaces?: string[];
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

export interface KubeApiServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly store: ObjectStore;
  readonly registry: ResourceRegistry;
  /** The same operations the HTTP routes run, for tests to call synchronously in-process. */
  readonly operations: KubeOperations;
  readonly watches: WatchHub;
  /** Every request answered so far (watches when they started). */
  readonly requests: RequestRecord[];
  /** The resource served as `plural` at `apiVersion` ("v1", "leaven.dev/v1alpha1"); throws when none. */
  resource(apiVersion: string, plural: string): ResourceType;
  writeKubeconfig(path: string, namespace?: string): string;
  /** Ends every open watch (abrupt: cut the sockets); returns how many there were. */
  dropWatches(options?: { abrupt?: boolean }): number;
  /** Forgets the change history: watches from an older resourceVersion get 410 Expired. */
  compactHistory(): void;
  sendBookmarks(): void;
  close(): Promise<void>;
}

const CORE_NAMESPACED_PREFIX = "namespaces";

interface ResourcePath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
}

function parseResourcePath(segments: string[], registry: ResourceRegistry): ResourcePath | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === "api" && segments.length >= 3) {
    group = "";
    version = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === "apis" && segments.length >= 4) {
    group = segments[1]!;
    version = segments[2]!;
    rest = segments.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === CORE_NAMESPACED_PREFIX && rest.length >= 3) {
    const candidate = registry.find(group, version, rest[2]!);
    if (candidate?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  return { group, version, namespace, plural: rest[0]!, name: rest[1], subresource: rest[2] };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`error decoding request body: ${(error as Error).message}`);
  }
}

function flag(value: string | null): boolean {
  return value === "true" || value === "1";
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const store = new ObjectStore({ historyLimit: options.historyLimit });
  const registry = new ResourceRegistry();
  const watches = new WatchHub(store, { bookmarkIntervalMs: options.bookmarkIntervalMs });
  const operations = new KubeOperations(store, registry, watches);
  const requests: RequestRecord[] = [];
  const namespaceType = registry.find("", "v1", "namespaces")!;
  for (const name of options.namespaces ?? ["default", "kube-system", "kube-public", "kube-node-lease"])
    operations.create(namespaceType, undefined, { metadata: { name } }, {});
  let serverAddress = "";

  const send = (response: ServerResponse, status: number, body: unknown, warnings: string[] = []): void => {
    const text = JSON.stringify(body);
    const headers: Record<string, string | string[]> = {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(text)),
      "Cache-Control": "no-cache, private",
    };
    // Warning headers as the real server sends them (kubectl prints them as "Warning: ...").
    if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    response.writeHead(status, headers);
    response.end(text);
  };

  const ok = (response: ServerResponse, body: unknown): number => {
    send(response, 200, body);
    return 200;
  };

  const listOptions = (type: ResourceType, query: URLSearchParams): ListOptions => {
    const supported = (field: string): boolean =>
      field === "metadata.name" || field === "metadata.namespace" || type.selectableFields.includes(field);
    const limit = query.get("limit");
    return {
      labelSelector: parseLabelSelector(query.get("labelSelector") ?? undefined),
      fieldSelector: parseFieldSelector(query.get("fieldSelector") ?? undefined, supported),
      limit: limit ? Number(limit) : undefined,
      continueToken: query.get("continue") ?? undefined,
      resourceVersion: query.get("resourceVersion") ?? undefined,
      resourceVersionMatch: query.get("resourceVersionMatch") ?? undefined,
    };
  };

  const writeOptions = (query: URLSearchParams, subresource: string | undefined): WriteOptions => {
    const validation = query.get("fieldValidation");
    if (validation && !["Strict", "Warn", "Ignore"].includes(validation))
      throw badRequest(
        `fieldValidation: Unsupported value: "${validation}": supported values: "Ignore", "Strict", "Warn"`,
      );
    const out: WriteOptions = {
      dryRun: query.getAll("dryRun").includes("All"),
      fieldValidation: (validation ?? "Warn") as FieldValidation,
      force: flag(query.get("force")),
    };
    const manager = query.get("fieldManager");
    if (manager) out.fieldManager = manager;
    if (subresource === "status") out.subresource = "status";
    return out;
  };

  /** Request bodies are JSON (YAML for apply patches); protobuf, which kubectl's typed generators send, is not decoded. */
  const refuseProtobuf = (request: IncomingMessage): void => {
    if (mediaType(request.headers["content-type"]) === "application/vnd.kubernetes.protobuf")
      throw unsupportedMediaType(["application/json", "application/yaml"]);
  };

  const serveResource = async (
    request: IncomingMessage,
    response: ServerResponse,
    path: ResourcePath,
    query: URLSearchParams,
  ): Promise<number> => {
    const type = registry.find(path.group, path.version, path.plural);
    if (!type) throw notFoundPath();
    if (path.subresource !== undefined && !(path.subresource === "status" && type.statusSubresource))
      throw notFoundPath();
    const method = request.method ?? "GET";
    const accept = request.headers.accept;
    refuseProtobuf(request);
    if (path.name === undefined) {
      if (method === "GET") {
        const list = listOptions(type, query);
        const includeObject = query.get("includeObject") ?? undefined;
        if (flag(query.get("watch"))) {
          const rvText = query.get("resourceVersion") ?? "";
          if (rvText !== "" && !/^\d+$/.test(rvText))
            throw badRequest(`resourceVersion: Invalid value: "${rvText}": must be an integer`);
          const timeout = query.get("timeoutSeconds");
          const initial = query.get("sendInitialEvents");
          watches.open(
            {
              type,
              namespace: path.namespace,
              resourceVersion: rvText === "" ? undefined : Number(rvText),
              labelSelector: list.labelSelector,
              fieldSelector: list.fieldSelector,
              allowWatchBookmarks: flag(query.get("allowWatchBookmarks")),
              timeoutSeconds: timeout ? Number(timeout) : undefined,
              sendInitialEvents: initial === null ? undefined : flag(initial),
              present: (stored) => operations.present(type, stored),
              ...(wantsTable(accept)
                ? {
                    encode: (object: KubeObject, first: boolean) =>
                      toTable(
                        type,
                        [object],
                        { resourceVersion: object.metadata.resourceVersion },
                        includeObject,
                        !first,
                      ),
                  }
                : {}),
            },
            response,
          );
          return 200;
        }
        const { items, metadata } = operations.list(type, path.namespace, list);
        if (wantsTable(accept))
          send(response, 200, toTable(type, items, metadata, query.get("includeObject") ?? undefined));
        else send(response, 200, { kind: type.listKind, apiVersion: apiVersionOf(type), metadata, items });
        return 200;
      }
      if (method === "POST") {
        const body = parseJson(await readBody(request));
        const result = operations.create(type, path.namespace, body, writeOptions(query, undefined));
        send(response, result.code, result.object, result.warnings);
        return result.code;
      }
      if (method === "DELETE") {
        const body = parseJson(await readBody(request));
        const dryRun =
          query.getAll("dryRun").includes("All") ||
          (Array.isArray((body as JsonRecord | undefined)?.dryRun) &&
            ((body as JsonRecord).dryRun as string[]).includes("All"));
        send(
          response,
          200,
          operations.deleteCollection(type, path.namespace, listOptions(type, query), dryRun),
        );
        return 200;
      }
      throw methodNotAllowed();
    }
    const name = path.name;
    if (method === "GET") {
      const object = operations.get(type, path.namespace, name);
      if (wantsTable(accept))
        send(
          response,
          200,
          toTable(
            type,
            [object],
            { resourceVersion: object.metadata.resourceVersion },
            query.get("includeObject") ?? undefined,
          ),
        );
      else send(response, 200, object);
      return 200;
    }
    if (method === "PUT") {
      const body = parseJson(await readBody(request));
      const result = operations.update(
        type,
        path.namespace,
        name,
        body,
        writeOptions(query, path.subresource),
      );
      send(response, result.code, result.object, result.warnings);
      return result.code;
    }
    if (method === "PATCH") {
      const text = await readBody(request);
      const result = operations.patch(
        type,
        path.namespace,
        name,
        mediaType(request.headers["content-type"]),
        text,
        writeOptions(query, path.subresource),
      );
      send(response, result.code, result.object, result.warnings);
      return result.code;
    }
    if (method === "DELETE" && path.subresource === undefined) {
      const body = parseJson(await readBody(request));
      const dryRun = query.getAll("dryRun").includes("All");
      send(response, 200, operations.delete(type, path.namespace, name, body, dryRun));
      return 200;
    }
    throw methodNotAllowed();
  };

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<number> => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const segments = url.pathname
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    const joined = segments.join("/");
    if (request.method === "GET") {
      if (joined === "version") return ok(response, SERVER_VERSION);
      if (joined === "healthz" || joined === "livez" || joined === "readyz") {
        response.writeHead(200, { "Content-Type": "text/plain" });
        response.end("ok");
        return 200;
      }
      if (joined === "api") return ok(response, apiVersions(serverAddress));
      if (joined === "apis") return ok(response, groupList(registry));
      if (joined === "openapi/v3") return ok(response, openApiIndex(registry));
      if (segments[0] === "openapi" && segments[1] === "v3") {
        const [, , root, a, b] = segments;
        const document =
          root === "api" && a && !b
            ? openApiDocument(registry, "", a)
            : root === "apis" && a && b
              ? openApiDocument(registry, a, b)
              : undefined;
        if (!document) throw notFoundPath();
        send(response, 200, document);
        return 200;
      }
      if (segments[0] === "api" && segments.length === 2) {
        const list = resourceList(registry, "", segments[1]!);
        if (!list) throw notFoundPath();
        return ok(response, list);
      }
      if (segments[0] === "apis" && segments.length === 2) {
        const found = group(registry, segments[1]!);
        if (!found) throw notFoundPath();
        return ok(response, found);
      }
      if (segments[0] === "apis" && segments.length === 3) {
        const list = resourceList(registry, segments[1]!, segments[2]!);
        if (!list) throw notFoundPath();
        return ok(response, list);
      }
    }
    const path = parseResourcePath(segments, registry);
    if (!path) throw notFoundPath();
    return serveResource(request, response, path, url.searchParams);
  };

  const server: Server = createServer((request, response) => {
    const path = request.url ?? "/";
    route(request, response).then(
      (status) => requests.push({ method: request.method ?? "GET", path, status }),
      (error: unknown) => {
        const failure =
          error instanceof KubeApiError
            ? error
            : new KubeApiError(
                500,
                "InternalError",
                `Internal error occurred: ${(error as Error).stack ?? String(error)}`,
              );
        requests.push({ method: request.method ?? "GET", path, status: failure.code });
        if (response.headersSent) response.end();
        else send(response, failure.code, failure.status);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  serverAddress = `127.0.0.1:${port}`;
  const url = `http://${serverAddress}`;

  return {
    url,
    store,
    registry,
    operations,
    watches,
    requests,
    resource(apiVersion, plural) {
      const [groupName, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
      const type = registry.find(groupName!, version!, plural);
      if (!type) throw new Error(`no resource ${plural} served at ${apiVersion}`);
      return type;
    },
    writeKubeconfig: (path, namespace) => writeKubeconfig(url, path, namespace),
    dropWatches: (dropOptions) => watches.dropAll(dropOptions),
    compactHistory: () => store.compact(),
    sendBookmarks: () => watches.sendBookmarks(),
    close: async () => {
      watches.dropAll({ abrupt: true });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
