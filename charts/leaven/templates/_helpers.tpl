{{/*
The chart's name, or nameOverride.
*/}}
{{- define "leaven.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's resources: fullnameOverride, else release name + chart name (just the
release name when it already contains the chart name), cut to the 63 characters of a DNS label.
*/}}
{{- define "leaven.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "leaven.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The Kubernetes recommended labels (app.kubernetes.io/*) of every resource.
*/}}
{{- define "leaven.labels" -}}
helm.sh/chart: {{ include "leaven.chart" . }}
{{ include "leaven.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | trunc 63 | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: leaven
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The labels the Deployment selects its pods by, and the Service its endpoints: they must never change
between upgrades (a Deployment's selector is immutable), so no version in them.
*/}}
{{- define "leaven.selectorLabels" -}}
app.kubernetes.io/name: {{ include "leaven.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount's name.
*/}}
{{- define "leaven.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "leaven.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference.
*/}}
{{- define "leaven.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The rules on ImageSpecs and Events, in every namespace the operator watches (a ClusterRole, or a Role in
each listed namespace). Only what the operator does: it reads and watches ImageSpecs, writes their status,
adds and removes its finalizer (an update of the object, and of imagespecs/finalizers where the
OwnerReferencesPermissionEnforcement admission plugin checks it), and records Events in both Event APIs.
*/}}
{{- define "leaven.watchRules" -}}
- apiGroups: ["leaven.dev"]
  resources: ["imagespecs"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["leaven.dev"]
  resources: ["imagespecs/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["leaven.dev"]
  resources: ["imagespecs/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
