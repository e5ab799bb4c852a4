{{/* Names, labels and the pieces every phoenix pod shares. */}}

{{- define "phoenix.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "phoenix.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: phoenix
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "processor") */}}
{{- define "phoenix.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "phoenix.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "phoenix.secretName" -}}
{{- .Values.existingSecret | default (printf "%s-credentials" (include "phoenix.fullname" .)) -}}
{{- end -}}

{{- define "phoenix.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "phoenix.fullname" .) -}}
{{- end -}}

{{/* The consumer group of a service: the topic prefix + its name, so tenants sharing a
     cluster under different prefixes never share a group. KEDA reads the same name. */}}
{{- define "phoenix.consumerGroup" -}}
{{- printf "%s%s" .root.Values.kafka.topicPrefix .name -}}
{{- end -}}

{{- define "phoenix.saslMechanismForKeda" -}}
{{- $mechanisms := dict "PLAIN" "plaintext" "SCRAM-SHA-256" "scram_sha256" "SCRAM-SHA-512" "scram_sha512" -}}
{{- get $mechanisms .Values.kafka.saslMechanism | required "kafka.saslMechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with a SASL securityProtocol" -}}
{{- end -}}

{{- define "phoenix.usesSasl" -}}
{{- if hasPrefix "SASL" .Values.kafka.securityProtocol }}true{{ end -}}
{{- end -}}

{{- define "phoenix.usesTls" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") }}true{{ end -}}
{{- end -}}

{{/* Pod annotations: config and secret checksums roll the pods when either changes. */}}
{{- define "phoenix.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- if not .root.Values.existingSecret }}
checksum/secret: {{ include (print .root.Template.BasePath "/secret.yaml") .root | sha256sum }}
{{- end }}
{{- if .root.Values.prometheusScrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .root.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes of every pod: scratch (or the shared claim), the bounded cache, /tmp, the Kafka CA. */}}
{{- define "phoenix.volumes" -}}
{{- $scratch := .root.Values.scratch -}}
- name: data
{{- if .root.Values.sharedData.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .root.Values.sharedData.existingClaim }}
{{- else }}
  emptyDir:
    {{- with $scratch.medium }}
    medium: {{ . }}
    {{- end }}
    sizeLimit: {{ .dataSizeLimit | default $scratch.dataSizeLimit }}
{{- end }}
- name: cache
  emptyDir:
    {{- with $scratch.medium }}
    medium: {{ . }}
    {{- end }}
    sizeLimit: {{ $scratch.cacheSizeLimit }}
- name: tmp
  emptyDir:
    {{- with $scratch.medium }}
    medium: {{ . }}
    {{- end }}
    sizeLimit: {{ $scratch.tmpSizeLimit }}
{{- if .root.Values.kafka.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .root.Values.kafka.caSecret.name }}
    items:
      - key: {{ .root.Values.kafka.caSecret.key }}
        path: ca.crt
{{- end }}
{{- end -}}

{{- define "phoenix.volumeMounts" -}}
- name: data
  mountPath: /data
- name: cache
  mountPath: /cache
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/phoenix/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "phoenix.envFrom" -}}
- configMapRef:
    name: {{ include "phoenix.fullname" . }}-config
- secretRef:
    name: {{ include "phoenix.secretName" . }}
{{- end -}}

{{/* Pod-level settings shared by every Deployment. */}}
{{- define "phoenix.podSpecCommon" -}}
serviceAccountName: {{ include "phoenix.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Probes: started and alive = /healthz answers; ready = the `ready` path answers 200. */}}
{{- define "phoenix.probes" -}}
{{- $probes := .root.Values.probes -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: {{ $probes.startup.periodSeconds }}
  failureThreshold: {{ $probes.startup.failureThreshold }}
livenessProbe:
  httpGet: {path: /healthz, port: {{ .port }}}
  periodSeconds: {{ $probes.liveness.periodSeconds }}
  timeoutSeconds: {{ $probes.liveness.timeoutSeconds }}
  failureThreshold: {{ $probes.liveness.failureThreshold }}
readinessProbe:
  httpGet: {path: {{ .ready }}, port: {{ .port }}}
  periodSeconds: {{ $probes.readiness.periodSeconds }}
  timeoutSeconds: {{ $probes.readiness.timeoutSeconds }}
  failureThreshold: {{ $probes.readiness.failureThreshold }}
{{- end -}}

{{/* A value as an environment string. YAML integers arrive as float64, which `quote` would
     print as 1.048576e+06: whole numbers are printed as integers; anything else is passed
     through as text for phoenix's settings to judge. */}}
{{- define "phoenix.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) }}{{ int64 . | toString | quote }}{{ else }}{{ . | toString | quote }}{{ end -}}
{{- end -}}
