// The built-in resources the operator needs: namespaces, v1 and events.k8s.io/v1 Events (one storage, as
// in the real server), coordination.k8s.io/v1 Leases, and the CustomResourceDefinitions themselves.
import { prepareCrd, validateCrd } from "./crd.ts";
import { type FieldCause, isRecord, type JsonRecord, type KubeObject, type ResourceType } from "./types.ts";

function builtin(
  partial: Partial<ResourceType> & Pick<ResourceType, "version" | "kind" | "plural">,
): ResourceType {
  const group = partial.group ?? "";
  return {
    group,
    listKind: `${partial.kind}List`,
    singular: partial.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    categories: [],
    statusSubresource: false,
    tracksGeneration: false,
    custom: false,
    storageKey: group === "" ? partial.plural : `${group}/${partial.plural}`,
    printerColumns: [],
    selectableFields: [],
    ...partial,
  };
}

function prepareNamespace(namespace: KubeObject): void {
  const name = namespace.metadata.name ?? "";
  namespace.metadata.labels = { ...namespace.metadata.labels, "kubernetes.io/metadata.name": name };
  const spec = isRecord(namespace.spec) ? namespace.spec : {};
  spec.finalizers ??= ["kubernetes"];
  namespace.spec = spec;
  const status = isRecord(namespace.status) ? namespace.status : {};
  status.phase = namespace.metadata.deletionTimestamp ? "Terminating" : "Active";
  namespace.status = status;
}

/** core/v1 Event fields ↔ events.k8s.io/v1 Event fields. */
const EVENT_RENAMES: [core: string, events: string][] = [
  ["involvedObject", "regarding"],
  ["message", "note"],
  ["reportingComponent", "reportingController"],
  ["source", "deprecatedSource"],
  ["firstTimestamp", "deprecatedFirstTimestamp"],
  ["lastTimestamp", "deprecatedLastTimestamp"],
  ["count", "deprecatedCount"],
];

function rename(object: KubeObject, pairs: [from: string, to: string][]): KubeObject {
  const out: KubeObject = { metadata: object.metadata };
  const map = new Map(pairs);
  for (const [key, value] of Object.entries(object)) {
    if (key === "metadata" || key === "apiVersion" || key === "kind") continue;
    out[map.get(key) ?? key] = value;
  }
  return out;
}

const need = (object: JsonRecord, field: string): FieldCause[] =>
  object[field] === undefined || object[field] === "" || object[field] === null
    ? [{ reason: "FieldValueRequired", message: "Required value", field }]
    : [];

/** events.k8s.io/v1's create checks (the ones an emitter gets wrong). */
function validateEventsV1(event: KubeObject): FieldCause[] {
  const causes = ["eventTime", "reportingController", "reportingInstance", "action", "reason"].flatMap((f) =>
    need(event, f),
  );
  if (event.type !== "Normal" && event.type !== "Warning")
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(event.type ?? "")}: has invalid value: ${String(event.type ?? "")}`,
      field: "type",
    });
  return causes;
}

function validateLease(lease: KubeObject): FieldCause[] {
  const spec = isRecord(lease.spec) ? lease.spec : {};
  const causes: FieldCause[] = [];
  if (typeof spec.leaseDurationSeconds === "number" && spec.leaseDurationSeconds <= 0)
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${spec.leaseDurationSeconds}: must be greater than 0`,
      field: "spec.leaseDurationSeconds",
    });
  if (typeof spec.leaseTransitions === "number" && spec.leaseTransitions < 0)
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${spec.leaseTransitions}: must be greater than or equal to 0`,
      field: "spec.leaseTransitions",
    });
  return causes;
}

const CORE_EVENT_FIELDS = [
  "involvedObject.kind",
  "involvedObject.namespace",
  "involvedObject.name",
  "involvedObject.uid",
  "involvedObject.apiVersion",
  "involvedObject.resourceVersion",
  "involvedObject.fieldPath",
  "reason",
  "reportingComponent",
  "source",
  "type",
];

export function builtinResourceTypes(): ResourceType[] {
  return [
    builtin({
      version: "v1",
      kind: "Namespace",
      plural: "namespaces",
      namespaced: false,
      shortNames: ["ns"],
      statusSubresource: true,
      selectableFields: ["status.phase"],
      prepare: prepareNamespace,
      printerColumns: [
        { name: "Status", type: "string", jsonPath: ".status.phase" },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
    builtin({
      version: "v1",
      kind: "Event",
      plural: "events",
      shortNames: ["ev"],
      selectableFields: CORE_EVENT_FIELDS,
    }),
    builtin({
      group: "events.k8s.io",
      version: "v1",
      kind: "Event",
      plural: "events",
      shortNames: ["ev"],
      storageKey: "events",
      selectableFields: CORE_EVENT_FIELDS.map((f) =>
        f.replace("involvedObject", "regarding").replace("reportingComponent", "reportingController"),
      ),
      validate: validateEventsV1,
      conversion: {
        toStorage: (event) =>
          rename(
            event,
            EVENT_RENAMES.map(([core, events]) => [events, core]),
          ),
        fromStorage: (event) => rename(event, EVENT_RENAMES),
      },
    }),
    builtin({
      group: "coordination.k8s.io",
      version: "v1",
      kind: "Lease",
      plural: "leases",
      validate: validateLease,
      printerColumns: [
        { name: "Holder", type: "string", jsonPath: ".spec.holderIdentity" },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
    builtin({
      group: "apiextensions.k8s.io",
      version: "v1",
      kind: "CustomResourceDefinition",
      plural: "customresourcedefinitions",
      namespaced: false,
      shortNames: ["crd", "crds"],
      statusSubresource: true,
      tracksGeneration: true,
      validate: validateCrd,
      prepare: prepareCrd,
      printerColumns: [
        { name: "Created At", type: "string", format: "date-time", jsonPath: ".metadata.creationTimestamp" },
      ],
    }),
  ];
}
