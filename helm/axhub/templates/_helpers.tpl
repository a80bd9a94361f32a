{{/* Names ------------------------------------------------------------------------------ */}}
{{- define "axhub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "axhub.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "axhub.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels: call with (dict "ctx" $ "component" "api") */}}
{{- define "axhub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "axhub.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "axhub.labels" -}}
{{ include "axhub.selectorLabels" . }}
app.kubernetes.io/part-of: axhub
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "axhub.chart" .ctx }}
{{- end -}}

{{- define "axhub.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Resource names */}}
{{- define "axhub.secretName" -}}
{{- default (printf "%s-secrets" (include "axhub.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}
{{- define "axhub.postgresql.name" -}}{{ include "axhub.fullname" . }}-postgresql{{- end -}}
{{- define "axhub.mlflow.name" -}}{{ include "axhub.fullname" . }}-mlflow{{- end -}}
{{- define "axhub.api.name" -}}{{ include "axhub.fullname" . }}-api{{- end -}}
{{- define "axhub.portal.name" -}}{{ include "axhub.fullname" . }}-portal{{- end -}}
{{- define "axhub.scheduler.name" -}}{{ include "axhub.fullname" . }}-scheduler{{- end -}}
{{- define "axhub.housekeeping.name" -}}{{ include "axhub.fullname" . }}-grants-housekeeping{{- end -}}
{{- define "axhub.raycluster.name" -}}{{ include "axhub.fullname" . }}-ray{{- end -}}
{{- define "axhub.internalPostgresql" -}}
{{- if not .Values.postgresql.external.url }}true{{ end -}}
{{- end -}}

{{/* Addresses */}}
{{- define "axhub.rayAddress" -}}
http://{{ include "axhub.raycluster.name" . }}-head-svc.{{ .Release.Namespace }}.svc:8265
{{- end -}}
{{- define "axhub.mlflowUrl" -}}
http://{{ include "axhub.mlflow.name" . }}.{{ .Release.Namespace }}.svc:{{ .Values.mlflow.service.port }}
{{- end -}}
{{- define "axhub.apiUrl" -}}
http://{{ include "axhub.api.name" . }}.{{ .Release.Namespace }}.svc:{{ .Values.api.service.port }}
{{- end -}}

{{/* Secret values (each fails the render when it is needed and missing) */}}
{{- define "axhub.secretKey" -}}
{{- $key := required "secrets.secretKey is required (at least 32 characters; e.g. --set secrets.secretKey=$(openssl rand -hex 32)), or set secrets.existingSecret" .Values.secrets.secretKey -}}
{{- if lt (len $key) 32 -}}
{{- fail "secrets.secretKey must be at least 32 characters" -}}
{{- end -}}
{{- $key -}}
{{- end -}}

{{- define "axhub.postgresqlPassword" -}}
{{- required "postgresql.auth.password is required for the in-cluster PostgreSQL (or set postgresql.external.url, or secrets.existingSecret)" .Values.postgresql.auth.password -}}
{{- end -}}

{{- define "axhub.databaseUrl" -}}
{{- if .Values.postgresql.external.url -}}
{{- .Values.postgresql.external.url -}}
{{- else -}}
{{- $pg := .Values.postgresql.auth -}}
{{- printf "postgresql+psycopg://%s:%s@%s.%s.svc:5432/%s" $pg.username (include "axhub.postgresqlPassword" .) (include "axhub.postgresql.name" .) .Release.Namespace $pg.database -}}
{{- end -}}
{{- end -}}

{{- define "axhub.mlflowBackendUrl" -}}
{{- if .Values.mlflow.backendStore.url -}}
{{- .Values.mlflow.backendStore.url -}}
{{- else if .Values.postgresql.external.url -}}
{{- fail "mlflow.backendStore.url is required with postgresql.external.url (MLflow needs a database of its own)" -}}
{{- else -}}
{{- $pg := .Values.postgresql.auth -}}
{{- printf "postgresql+psycopg://%s:%s@%s.%s.svc:5432/%s" $pg.username (include "axhub.postgresqlPassword" .) (include "axhub.postgresql.name" .) .Release.Namespace $pg.mlflowDatabase -}}
{{- end -}}
{{- end -}}

{{- define "axhub.mlflowAdminPassword" -}}
{{- $pw := required "mlflow.auth.adminPassword is required when MLflow is enabled (at least 16 characters), or set secrets.existingSecret" .Values.mlflow.auth.adminPassword -}}
{{- if lt (len $pw) 16 -}}
{{- fail "mlflow.auth.adminPassword must be at least 16 characters" -}}
{{- end -}}
{{- $pw -}}
{{- end -}}

{{/* Common pieces of the hub's pods */}}
{{- define "axhub.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end -}}
{{- define "axhub.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end -}}

{{/* env of every hub process: the ConfigMap plus the secrets it needs */}}
{{- define "axhub.hubEnv" -}}
envFrom:
  - configMapRef:
      name: {{ include "axhub.fullname" . }}-config
env:
  - name: HUB_SECRET_KEY
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_SECRET_KEY}
  - name: HUB_DATABASE_URL
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_DATABASE_URL}
  # optional keys: absent from the Secret = unset
  - name: HUB_METRICS_TOKEN
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_METRICS_TOKEN, optional: true}
  - name: HUB_SMTP_PASSWORD
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_SMTP_PASSWORD, optional: true}
{{- if eq .Values.config.attachments.storage "s3" }}
  - name: HUB_S3_ACCESS_KEY_ID
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_S3_ACCESS_KEY_ID, optional: true}
  - name: HUB_S3_SECRET_ACCESS_KEY
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_S3_SECRET_ACCESS_KEY, optional: true}
{{- end }}
{{- if .Values.mlflow.enabled }}
  - name: HUB_MLFLOW_ADMIN_PASSWORD
    valueFrom:
      secretKeyRef: {name: {{ include "axhub.secretName" . }}, key: HUB_MLFLOW_ADMIN_PASSWORD}
{{- end }}
{{- end -}}

{{/* S3 attachment storage: a bucket, and credentials both or neither (fails the render). */}}
{{- define "axhub.checkS3Attachments" -}}
{{- $s3 := .Values.config.attachments.s3 -}}
{{- $_ := required "config.attachments.s3.bucket is required with config.attachments.storage=s3" $s3.bucket -}}
{{- if and (not .Values.secrets.existingSecret) (ne (not .Values.secrets.s3AccessKeyId) (not .Values.secrets.s3SecretAccessKey)) -}}
{{- fail "secrets.s3AccessKeyId and secrets.s3SecretAccessKey must be set together (or both left empty to use the pod's default AWS credentials)" -}}
{{- end -}}
{{- end -}}

{{/* Ray pods: non-root like the rest, but a writable root FS (runtime_env working_dir
     unpacking, pip caches and Ray's session files are not confined to /tmp/ray). */}}
{{- define "axhub.rayPodSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end -}}
{{- define "axhub.rayContainerSecurityContext" -}}
{{- toYaml (merge (dict "readOnlyRootFilesystem" false) (omit .Values.containerSecurityContext "readOnlyRootFilesystem")) }}
{{- end -}}

{{/* NetworkPolicy peers */}}
{{- define "axhub.peer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ .ctx.Release.Name }}
      app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{- define "axhub.dbEgress" -}}
{{- if include "axhub.internalPostgresql" . }}
- to:
    {{- include "axhub.peer" (dict "ctx" . "component" "postgresql") | nindent 4 }}
  ports: [{port: 5432, protocol: TCP}]
{{- else }}
- to: [{ipBlock: {cidr: {{ .Values.networkPolicy.externalDatabaseCidr | quote }}}}]
  ports: [{port: {{ .Values.networkPolicy.externalDatabasePort }}, protocol: TCP}]
{{- end }}
{{- end -}}

{{/* nodeSelector, tolerations and affinity of a component (its values dict), at pod-spec level */}}
{{- define "axhub.placement" -}}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* `axhub db upgrade` before a hub process starts (hub-api and scheduler pods). Safe in many
     pods at once: the migrations run in one PostgreSQL transaction, a concurrent loser fails
     (unique violation, nothing half-written) and the kubelet retries it, finding the schema at
     head. Unlike a Helm hook Job it never deadlocks `helm install --wait` or Argo CD syncs. */}}
{{- define "axhub.dbUpgradeInitContainer" -}}
{{- if .Values.migrations.enabled }}
initContainers:
  - name: db-upgrade
    image: {{ include "axhub.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    command: [axhub, db, upgrade]
    {{- include "axhub.hubEnv" . | nindent 4 }}
    resources:
      {{- toYaml .Values.migrations.resources | nindent 6 }}
    securityContext:
      {{- include "axhub.containerSecurityContext" . | nindent 6 }}
    volumeMounts:
      - {name: tmp, mountPath: /tmp}
{{- end }}
{{- end -}}

{{/* A value as an environment string. Helm reads YAML numbers as float64 and `quote`/`toString`
     print large ones as 5.24288e+07, which the hub cannot parse: numbers and booleans go
     through toJson (52428800, 0.1, true). */}}
{{- define "axhub.envValue" -}}
{{- if kindIs "string" . -}}{{ . | quote }}{{- else -}}{{ . | toJson | quote }}{{- end -}}
{{- end -}}
