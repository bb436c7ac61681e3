// What each request does to the store, with the real server's rules: metadata the server owns, the
// status subresource, generation, optimistic concurrency, finalizers and deletionTimestamp, validation,
// patches, namespace lifecycle and CRDs coming and going.
import { randomBytes, randomUUID } from "node:crypto";
import { parse as parseYaml } from "yaml";
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  invalid,
  KubeApiError,
  notFound,
  unsupportedMediaType,
} from "./api-errors.ts";
import { crdResourceTypes } from "./crd.ts";
import {
  APPLY_PATCH,
  JSON_PATCH,
  jsonPatch,
  MERGE_PATCH,
  mergePatch,
  STRATEGIC_MERGE_PATCH,
  strategicMergePatch,
} from "./patch.ts";
import type { ResourceRegistry } from "./resource-registry.ts";
import { type FieldSelector, fieldsMatch, type LabelSelector, labelsMatch } from "./selectors.ts";
import { applyConfiguration } from "./server-side-apply.ts";
import type { ObjectStore } from "./store.ts";
import {
  apiVersionOf,
  clone,
  deepEqual,
  type FieldCause,
  isRecord,
  type JsonRecord,
  type KubeObject,
  kubeTime,
  type ResourceType,
} from "./types.ts";
import type { WatchHub } from "./watch.ts";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  fieldManager?: string;
  force?: boolean;
  subresource?: "status";
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  /** 201 for a create (also by server-side apply), else 200. */
  code: number;
}

export interface ListOptions {
  labelSelector: LabelSelector;
  fieldSelector: FieldSelector;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function nameCauses(type: ResourceType, name: string | undefined): FieldCause[] {
  if (!name) {
    return [
      {
        reason: "FieldValueRequired",
        message: "Required value: name or generateName is required",
        field: "metadata.name",
      },
    ];
  }
  if (type.plural === "namespaces") {
    if (name.length <= 63 && LABEL.test(name)) return [];
    return [
      {
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        field: "metadata.name",
      },
    ];
  }
  if (name.length <= 253 && SUBDOMAIN.test(name)) return [];
  return [
    {
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      field: "metadata.name",
    },
  ];
}

function labelCauses(labels: unknown): FieldCause[] {
  if (labels === undefined) return [];
  if (!isRecord(labels))
    return [
      { reason: "FieldValueTypeInvalid", message: "Invalid value: must be a map", field: "metadata.labels" },
    ];
  return Object.values(labels).flatMap((value) =>
    typeof value === "string" && value.length <= 63 && LABEL_VALUE.test(value)
      ? []
      : [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
            field: `metadata.labels`,
          },
        ],
  );
}

/** What generation counts: everything but metadata (and status, when status is a subresource). */
function generationContent(type: ResourceType, object: KubeObject): JsonRecord {
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = object;
  if (type.statusSubresource) delete rest.status;
  return rest;
}

/** The object minus what a no-op write may differ in. */
function comparable(object: KubeObject): KubeObject {
  const copy = clone(object);
  delete copy.metadata.resourceVersion;
  delete copy.metadata.managedFields;
  return copy;
}

function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join("");
}

interface ContinueToken {
  rv: number;
  start: string;
}

export class KubeOperations {
  readonly #store: ObjectStore;
  readonly #registry: ResourceRegistry;
  readonly #watches: WatchHub;
  /** Server-side apply: the last configuration each field manager applied, per object. */
  readonly #applied = new Map<string, JsonRecord>();

  constructor(store: ObjectStore, registry: ResourceRegistry, watches: WatchHub) {
    this.#store = store;
    this.#registry = registry;
    this.#watches = watches;
  }

  /** The stored object as `type` (a version of its resource) shows it. */
  present(type: ResourceType, stored: KubeObject): KubeObject {
    const shown = type.conversion ? type.conversion.fromStorage(clone(stored)) : clone(stored);
    const { metadata, ...rest } = shown;
    return { apiVersion: apiVersionOf(type), kind: type.kind, metadata, ...rest };
  }

  #toStorage(type: ResourceType, object: KubeObject): KubeObject {
    return type.conversion ? type.conversion.toStorage(clone(object)) : clone(object);
  }

  #namespaceOf(type: ResourceType, namespace: string | undefined): string | undefined {
    return type.namespaced ? namespace : undefined;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const stored = this.#store.get(type.storageKey, this.#namespaceOf(type, namespace), name);
    if (!stored) throw notFound(type, name);
    return this.present(type, stored);
  }

  list(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
  ): { items: KubeObject[]; metadata: JsonRecord } {
    const store = this.#store;
    let rv = store.resourceVersion;
    let start = "";
    if (options.continueToken) {
      let token: ContinueToken;
      try {
        token = JSON.parse(Buffer.from(options.continueToken, "base64").toString("utf8")) as ContinueToken;
      } catch {
        throw badRequest("continue key is not valid: illegal base64 data");
      }
      if (token.rv < store.compactedVersion)
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
      rv = token.rv;
      start = token.start;
    } else if (options.resourceVersionMatch === "Exact" && options.resourceVersion) {
      const asked = Number(options.resourceVersion);
      if (asked < store.compactedVersion)
        throw expired(`The resourceVersion for the provided list is too old.`);
    }
    const items = store
      .list(type.storageKey, this.#namespaceOf(type, namespace))
      .map((o) => this.present(type, o))
      .filter(
        (o) => labelsMatch(options.labelSelector, o.metadata.labels) && fieldsMatch(options.fieldSelector, o),
      )
      .filter((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}` > start);
    const metadata: JsonRecord = { resourceVersion: String(rv) };
    if (options.limit && options.limit > 0 && items.length > options.limit) {
      const page = items.slice(0, options.limit);
      const last = page.at(-1)!;
      const token: ContinueToken = { rv, start: `${last.metadata.namespace ?? ""}/${last.metadata.name}` };
      metadata.continue = Buffer.from(JSON.stringify(token)).toString("base64");
      metadata.remainingItemCount = items.length - page.length;
      return { items: page, metadata };
    }
    return { items, metadata };
  }

  create(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions,
  ): WriteResult {
    if (!isRecord(body)) throw badRequest("the body of the request was empty or not an object");
    const incoming = clone(body) as KubeObject;
    incoming.metadata = isRecord(incoming.metadata) ? incoming.metadata : {};
    const ns = this.#namespaceOf(type, namespace);
    if (type.namespaced) {
      if (incoming.metadata.namespace && incoming.metadata.namespace !== ns)
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      incoming.metadata.namespace = ns;
      this.#checkNamespaceOpen(ns);
    } else delete incoming.metadata.namespace;
    if (!incoming.metadata.name && incoming.metadata.generateName)
      incoming.metadata.name = `${incoming.metadata.generateName}${randomSuffix()}`;
    const { object, warnings } = this.#admit(type, undefined, incoming, options);
    if (this.#store.get(type.storageKey, ns, object.metadata.name!))
      throw alreadyExists(type, object.metadata.name!);
    if (options.dryRun) return { object: this.present(type, object), warnings, code: 201 };
    const stored = this.#store.put(type.storageKey, this.#toStorage(type, object));
    this.#afterWrite(type, stored);
    return { object: this.present(type, stored), warnings, code: 201 };
  }

  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions,
  ): WriteResult {
    if (!isRecord(body)) throw badRequest("the body of the request was empty or not an object");
    const incoming = clone(body) as KubeObject;
    incoming.metadata = isRecord(incoming.metadata) ? incoming.metadata : {};
    if (incoming.metadata.name !== undefined && incoming.metadata.name !== name)
      throw badRequest(
        `the name of the object (${incoming.metadata.name}) does not match the name on the URL (${name})`,
      );
    const ns = this.#namespaceOf(type, namespace);
    const stored = this.#store.get(type.storageKey, ns, name);
    if (!stored) throw notFound(type, name);
    const old = this.present(type, stored);
    const rv = incoming.metadata.resourceVersion;
    if (rv === undefined || rv === "") {
      if (type.custom)
        throw invalid(type, name, [
          {
            reason: "FieldValueInvalid",
            message: "Invalid value: 0: must be specified for an update",
            field: "metadata.resourceVersion",
          },
        ]);
    } else if (rv !== old.metadata.resourceVersion) throw conflict(type, name);
    return this.#commit(type, old, incoming, options);
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: string,
    options: WriteOptions,
  ): WriteResult {
    const ns = this.#namespaceOf(type, namespace);
    const stored = this.#store.get(type.storageKey, ns, name);
    const accepted = type.custom
      ? [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
      : [JSON_PATCH, MERGE_PATCH, APPLY_PATCH, STRATEGIC_MERGE_PATCH];
    if (!accepted.includes(contentType)) throw unsupportedMediaType(accepted);
    let body: unknown;
    try {
      body = contentType === APPLY_PATCH ? parseYaml(rawBody) : JSON.parse(rawBody);
    } catch (error) {
      throw badRequest(`error decoding patch: ${(error as Error).message}`);
    }
    if (contentType === APPLY_PATCH) return this.#apply(type, ns, name, stored, body, options);
    if (!stored) throw notFound(type, name);
    const old = this.present(type, stored);
    let patched: unknown;
    if (contentType === MERGE_PATCH) {
      if (!isRecord(body))
        throw badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}");
      patched = mergePatch(old, body);
    } else if (contentType === JSON_PATCH) patched = jsonPatch(old, body);
    else patched = strategicMergePatch(old, body);
    if (!isRecord(patched)) throw badRequest("the patched object is not an object");
    const incoming = patched as KubeObject;
    incoming.metadata = isRecord(incoming.metadata) ? incoming.metadata : {};
    const rv = incoming.metadata.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) throw conflict(type, name);
    if (incoming.metadata.name !== name)
      throw badRequest(
        `metadata.name: Invalid value: ${JSON.stringify(incoming.metadata.name)}: field is immutable`,
      );
    return this.#commit(type, old, incoming, options);
  }

  #apply(
    type: ResourceType,
    ns: string | undefined,
    name: string,
    stored: KubeObject | undefined,
    body: unknown,
    options: WriteOptions,
  ): WriteResult {
    if (!options.fieldManager)
      throw badRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set");
    if (!isRecord(body) || !isRecord(body.metadata))
      throw badRequest("the body of the apply patch is not an object with metadata");
    if (body.metadata.name !== undefined && body.metadata.name !== name)
      throw badRequest(
        `the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${name})`,
      );
    const key = `${type.storageKey}\n${ns ?? ""}\n${name}\n${options.fieldManager}\n${options.subresource ?? ""}`;
    const previous = this.#applied.get(key);
    let result: WriteResult;
    if (!stored) {
      if (options.subresource) throw notFound(type, name);
      result = this.create(type, ns, { ...body, metadata: { ...body.metadata, name } }, options);
    } else {
      const old = this.present(type, stored);
      const incoming = applyConfiguration(old, previous, body) as KubeObject;
      result = this.#commit(type, old, incoming, options);
    }
    if (!options.dryRun) this.#applied.set(key, clone(body));
    return result;
  }

  /** Admits `incoming` over `old` and stores it (or removes it: the last finalizer of a deleted object gone). */
  #commit(type: ResourceType, old: KubeObject, incoming: KubeObject, options: WriteOptions): WriteResult {
    const { object, warnings } = this.#admit(type, old, incoming, options);
    if (deepEqual(comparable(object), comparable(old))) return { object: old, warnings, code: 200 };
    if (options.dryRun) return { object, warnings, code: 200 };
    if (object.metadata.deletionTimestamp && (object.metadata.finalizers ?? []).length === 0) {
      const gone = this.#remove(type, object);
      return { object: gone, warnings, code: 200 };
    }
    const stored = this.#store.put(type.storageKey, this.#toStorage(type, object));
    this.#afterWrite(type, stored);
    return { object: this.present(type, stored), warnings, code: 200 };
  }

  /** The object a write would store: server-owned metadata kept, status rules, defaults, validation. */
  #admit(
    type: ResourceType,
    old: KubeObject | undefined,
    incoming: KubeObject,
    options: WriteOptions,
  ): { object: KubeObject; warnings: string[] } {
    const expected = apiVersionOf(type);
    if (incoming.apiVersion !== undefined && incoming.apiVersion !== expected)
      throw badRequest(
        `the API version in the data (${String(incoming.apiVersion)}) does not match the expected API version (${expected})`,
      );
    if (incoming.kind !== undefined && incoming.kind !== type.kind)
      throw badRequest(
        `the kind in the data (${String(incoming.kind)}) does not match the expected kind (${type.kind})`,
      );
    let object: KubeObject;
    if (options.subresource === "status") {
      if (!old) throw notFound(type, incoming.metadata.name ?? "");
      object = clone(old);
      if (incoming.status === undefined) delete object.status;
      else object.status = clone(incoming.status);
    } else {
      object = clone(incoming);
      if (type.statusSubresource) {
        if (old?.status !== undefined) object.status = clone(old.status);
        else delete object.status;
      }
    }
    object.apiVersion = expected;
    object.kind = type.kind;
    const meta = object.metadata;
    delete meta.managedFields;
    delete meta.selfLink;
    if (old) {
      for (const field of [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
      ]) {
        if (old.metadata[field] === undefined) delete meta[field];
        else meta[field] = old.metadata[field];
      }
      meta.name = old.metadata.name;
      meta.resourceVersion = old.metadata.resourceVersion;
    } else {
      meta.uid = randomUUID();
      meta.creationTimestamp = kubeTime();
      delete meta.resourceVersion;
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
      if (type.tracksGeneration) meta.generation = 1;
      else delete meta.generation;
    }
    if (meta.finalizers !== undefined && meta.finalizers.length === 0) delete meta.finalizers;
    if (meta.labels !== undefined && Object.keys(meta.labels).length === 0) delete meta.labels;
    if (meta.annotations !== undefined && Object.keys(meta.annotations).length === 0) delete meta.annotations;

    const warnings: string[] = [];
    if (type.validator) {
      const unknown = type.validator.normalize(object);
      if (unknown.length > 0 && options.fieldValidation === "Strict")
        throw badRequest(
          `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown
            .map((f) => `unknown field "${f}"`)
            .join(", ")}`,
        );
      if (options.fieldValidation !== "Ignore") warnings.push(...unknown.map((f) => `unknown field "${f}"`));
    }
    type.prepare?.(object, old);

    const causes: FieldCause[] = [...nameCauses(type, meta.name), ...labelCauses(meta.labels)];
    if (old?.metadata.deletionTimestamp) {
      const added = (meta.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0)
        causes.push({
          reason: "FieldValueForbidden",
          message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added
            .map((f) => JSON.stringify(f))
            .join(", ")}}`,
          field: "metadata.finalizers",
        });
    }
    if (type.validator) causes.push(...type.validator.validate(object));
    if (type.validate) causes.push(...type.validate(object));
    if (causes.length > 0) throw invalid(type, meta.name ?? "", causes);

    if (
      old &&
      type.tracksGeneration &&
      !deepEqual(generationContent(type, old), generationContent(type, object))
    )
      meta.generation = (old.metadata.generation ?? 0) + 1;
    return { object, warnings };
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    dryRun: boolean,
  ): KubeObject | JsonRecord {
    const ns = this.#namespaceOf(type, namespace);
    const stored = this.#store.get(type.storageKey, ns, name);
    if (!stored) throw notFound(type, name);
    const old = this.present(type, stored);
    const preconditions = isRecord(body) && isRecord(body.preconditions) ? body.preconditions : {};
    if (typeof preconditions.uid === "string" && preconditions.uid !== old.metadata.uid)
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    if (
      typeof preconditions.resourceVersion === "string" &&
      preconditions.resourceVersion !== old.metadata.resourceVersion
    )
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    if (dryRun) return old;
    if ((old.metadata.finalizers ?? []).length > 0 || type.plural === "namespaces") {
      if (old.metadata.deletionTimestamp) return old;
      const marked = clone(old);
      marked.metadata.deletionTimestamp = kubeTime();
      marked.metadata.deletionGracePeriodSeconds = 0;
      if ((marked.metadata.generation ?? 0) > 0) marked.metadata.generation = marked.metadata.generation! + 1;
      type.prepare?.(marked, old);
      const written = this.present(type, this.#store.put(type.storageKey, this.#toStorage(type, marked)));
      if (type.plural === "namespaces" && type.group === "") return this.#emptyNamespace(written);
      return written;
    }
    const gone = this.#remove(type, old);
    if (type.custom) return gone;
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, group: type.group, kind: type.plural, uid: old.metadata.uid },
    };
  }

  /** DELETE of a collection: each selected object as if deleted one by one; returns the list of them. */
  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    options: ListOptions,
    dryRun: boolean,
  ): JsonRecord {
    const { items } = this.list(type, namespace, options);
    const deleted = items.map((item) =>
      this.delete(type, item.metadata.namespace, item.metadata.name!, undefined, dryRun),
    );
    return {
      kind: type.listKind,
      apiVersion: apiVersionOf(type),
      metadata: { resourceVersion: String(this.#store.resourceVersion) },
      items: deleted,
    };
  }

  #remove(type: ResourceType, object: KubeObject): KubeObject {
    const ns = object.metadata.namespace;
    const gone = this.#store.remove(type.storageKey, this.#namespaceOf(type, ns), object.metadata.name!);
    for (const key of [...this.#applied.keys()])
      if (key.startsWith(`${type.storageKey}\n${ns ?? ""}\n${object.metadata.name}\n`))
        this.#applied.delete(key);
    if (type.group === "apiextensions.k8s.io" && type.plural === "customresourcedefinitions")
      this.#dropCrd(object);
    if (type.namespaced && ns) this.#finishNamespace(ns);
    return gone ? this.present(type, gone) : object;
  }

  /** A terminating namespace's contents are deleted; it goes once nothing is left in it. */
  #emptyNamespace(namespace: KubeObject): KubeObject {
    const name = namespace.metadata.name!;
    for (const type of this.#registry.namespacedStorage()) {
      for (const item of this.#store.list(type.storageKey, name)) {
        const shown = this.present(type, item);
        if (!shown.metadata.deletionTimestamp)
          this.delete(type, name, shown.metadata.name!, undefined, false);
      }
    }
    this.#finishNamespace(name);
    const left = this.#store.get("namespaces", undefined, name);
    return left ?? namespace;
  }

  #finishNamespace(name: string): void {
    const namespace = this.#store.get("namespaces", undefined, name);
    if (!namespace?.metadata.deletionTimestamp || (namespace.metadata.finalizers ?? []).length > 0) return;
    const empty = this.#registry
      .namespacedStorage()
      .every((t) => this.#store.list(t.storageKey, name).length === 0);
    if (empty) this.#store.remove("namespaces", undefined, name);
  }

  #checkNamespaceOpen(namespace: string | undefined): void {
    if (!namespace) throw badRequest("an empty namespace may not be set during creation");
    const found = this.#store.get("namespaces", undefined, namespace);
    if (!found) throw notFound({ group: "", plural: "namespaces" }, namespace);
    if (found.metadata.deletionTimestamp)
      throw new KubeApiError(
        403,
        "Forbidden",
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
  }

  #afterWrite(type: ResourceType, stored: KubeObject): void {
    if (type.group !== "apiextensions.k8s.io" || type.plural !== "customresourcedefinitions") return;
    this.#registry.setCrd(stored.metadata.name!, crdResourceTypes(stored));
  }

  #dropCrd(crd: KubeObject): void {
    const types = this.#registry.removeCrd(crd.metadata.name!);
    const storageKey = types[0]?.storageKey;
    if (!storageKey) return;
    this.#watches.closeStorage(storageKey);
    for (const item of this.#store.list(storageKey))
      this.#store.remove(storageKey, item.metadata.namespace, item.metadata.name!);
  }
}
