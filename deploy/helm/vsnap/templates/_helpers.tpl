{{/* The chart's name, for the app.kubernetes.io/name label. */}}
{{- define "vsnap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name. A release named like the chart ("vsnap-worker") keeps its own
name, so `helm install vsnap-worker` gives the ServiceAccount the name the IRSA role trusts.
*/}}
{{- define "vsnap.fullname" -}}
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

{{/* The image tag: also the Worker Deployment build id baked into the image (deploy/Dockerfile). */}}
{{- define "vsnap.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
{{- end }}

{{- define "vsnap.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "vsnap.tag" .) }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "vsnap.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "vsnap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "vsnap.tag" . | quote }}
app.kubernetes.io/part-of: vsnap
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The worker pods of every version: the Service, PodDisruptionBudget and NetworkPolicy select these,
so a draining version's pods stay covered while the current version's roll out.
*/}}
{{- define "vsnap.workerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "vsnap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{- end }}

{{/* One version's worker pods: the Deployment of one image tag never claims another tag's pods. */}}
{{- define "vsnap.versionSelectorLabels" -}}
{{ include "vsnap.workerSelectorLabels" . }}
app.kubernetes.io/version: {{ include "vsnap.tag" . | quote }}
{{- end }}

{{/* The worker Deployment of this image tag (README "Upgrades": one Deployment per tag). */}}
{{- define "vsnap.deploymentName" -}}
{{- printf "%s-%s" (include "vsnap.fullname" .) (include "vsnap.tag" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vsnap.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vsnap.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the worker's credentials come from: the ExternalSecret's target, or one managed elsewhere. */}}
{{- define "vsnap.secretName" -}}
{{- default (include "vsnap.fullname" .) .Values.externalSecret.secretName }}
{{- end }}

{{/* The worker's settings as env vars; the Job that makes a version current reads the same. */}}
{{- define "vsnap.envConfigMapName" -}}
{{- printf "%s-env" (include "vsnap.fullname" .) }}
{{- end }}

{{/* Where the clusters file and the seal stanzas are mounted; config.json names these paths. */}}
{{- define "vsnap.configDir" -}}/etc/vsnap{{- end }}
{{- define "vsnap.sealDir" -}}/etc/vsnap/seal{{- end }}

{{/* The pods of the Job that makes a version current. */}}
{{- define "vsnap.setCurrentVersionSelectorLabels" -}}
app.kubernetes.io/name: {{ include "vsnap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: set-current-version
{{- end }}

{{/* The NetworkPolicy egress rule to the cluster DNS (CoreDNS, labelled kube-dns on EKS). */}}
{{- define "vsnap.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - { protocol: UDP, port: 53 }
    - { protocol: TCP, port: 53 }
{{- end }}
