// CustomResourceDefinitions (apiextensions.k8s.io/v1): their checks, the status the real server's
// controllers give them (names accepted, established at once), and the resources they serve.
import { isSupportedJsonPath } from "./jsonpath.ts";
import { compileSchemaValidator } from "./schema-validation.ts";
import {
  type FieldCause,
  isRecord,
  type JsonRecord,
  type KubeObject,
  kubeTime,
  type PrinterColumn,
  type ResourceType,
} from "./types.ts";

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: JsonRecord };
  subresources?: { status?: JsonRecord };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath: string }[];
}

interface CrdNames {
  plural?: string;
  singular?: string;
  kind?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

function specOf(crd: KubeObject): {
  group?: string;
  scope?: string;
  names: CrdNames;
  versions: CrdVersion[];
} {
  const spec = isRecord(crd.spec) ? crd.spec : {};
  return {
    group: typeof spec.group === "string" ? spec.group : undefined,
    scope: typeof spec.scope === "string" ? spec.scope : undefined,
    names: (isRecord(spec.names) ? spec.names : {}) as CrdNames,
    versions: (Array.isArray(spec.versions) ? spec.versions : []) as CrdVersion[],
  };
}

const required = (field: string): FieldCause => ({
  reason: "FieldValueRequired",
  message: "Required value",
  field,
});

/** The checks of the real server that a CRD written by hand is likely to fail. */
export function validateCrd(crd: KubeObject): FieldCause[] {
  const { group, scope, names, versions } = specOf(crd);
  const causes: FieldCause[] = [];
  if (!group) causes.push(required("spec.group"));
  if (!names.plural) causes.push(required("spec.names.plural"));
  if (!names.kind) causes.push(required("spec.names.kind"));
  if (scope !== "Namespaced" && scope !== "Cluster")
    causes.push({
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(scope ?? "")}: supported values: "Cluster", "Namespaced"`,
      field: "spec.scope",
    });
  if (group && names.plural && crd.metadata.name !== `${names.plural}.${group}`)
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(crd.metadata.name)}: must be spec.names.plural+"."+spec.group`,
      field: "metadata.name",
    });
  if (versions.length === 0) causes.push(required("spec.versions"));
  else if (versions.filter((v) => v.storage).length !== 1)
    causes.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(versions.map((v) => v.name))}: must have exactly one version marked as storage version`,
      field: "spec.versions",
    });
  versions.forEach((version, i) => {
    const schema = version.schema?.openAPIV3Schema;
    if (!isRecord(schema)) {
      causes.push({
        reason: "FieldValueRequired",
        message: "Required value: schemas are required",
        field: `spec.versions[${i}].schema.openAPIV3Schema`,
      });
    } else {
      try {
        compileSchemaValidator(schema);
      } catch (error) {
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: "": ${(error as Error).message}`,
          field: `spec.versions[${i}].schema.openAPIV3Schema`,
        });
      }
    }
    (version.additionalPrinterColumns ?? []).forEach((column, j) => {
      if (!isSupportedJsonPath(column.jsonPath))
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: ${JSON.stringify(column.jsonPath)}: must be a simple json path`,
          field: `spec.versions[${i}].additionalPrinterColumns[${j}].jsonPath`,
        });
    });
  });
  return causes;
}

/** The status the apiextensions controllers converge a CRD to: names accepted and established. */
export function prepareCrd(crd: KubeObject, old: KubeObject | undefined): void {
  const { names, versions } = specOf(crd);
  const now = kubeTime();
  const oldStatus = old && isRecord(old.status) ? old.status : {};
  const oldStored = Array.isArray(oldStatus.storedVersions) ? (oldStatus.storedVersions as string[]) : [];
  const storage = versions.find((v) => v.storage)?.name;
  const acceptedNames: JsonRecord = {
    plural: names.plural,
    singular: names.singular ?? names.kind?.toLowerCase(),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
  };
  if (names.shortNames) acceptedNames.shortNames = names.shortNames;
  if (names.categories) acceptedNames.categories = names.categories;
  const oldConditions = Array.isArray(oldStatus.conditions) ? (oldStatus.conditions as JsonRecord[]) : [];
  const since = (type: string): string =>
    (oldConditions.find((c) => c.type === type)?.lastTransitionTime as string | undefined) ?? now;
  crd.status = {
    conditions: [
      {
        type: "NamesAccepted",
        status: "True",
        lastTransitionTime: since("NamesAccepted"),
        reason: "NoConflicts",
        message: "no conflicts found",
      },
      {
        type: "Established",
        status: "True",
        lastTransitionTime: since("Established"),
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
      },
    ],
    acceptedNames,
    storedVersions: [...new Set([...oldStored, ...(storage ? [storage] : [])])],
  };
}

/** The resource types a (valid) CRD serves, one per served version, all on one storage. */
export function crdResourceTypes(crd: KubeObject): ResourceType[] {
  const { group, scope, names, versions } = specOf(crd);
  return versions
    .filter((v) => v.served)
    .map((version): ResourceType => {
      const schema = version.schema?.openAPIV3Schema ?? { type: "object" };
      return {
        group: group!,
        version: version.name,
        kind: names.kind!,
        listKind: names.listKind ?? `${names.kind}List`,
        plural: names.plural!,
        singular: names.singular ?? names.kind!.toLowerCase(),
        namespaced: scope === "Namespaced",
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        statusSubresource: isRecord(version.subresources?.status),
        tracksGeneration: true,
        custom: true,
        storageKey: `${group}/${names.plural}`,
        printerColumns: version.additionalPrinterColumns ?? [],
        selectableFields: (version.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, "")),
        validator: compileSchemaValidator(schema),
        openAPISchema: schema,
      };
    });
}
