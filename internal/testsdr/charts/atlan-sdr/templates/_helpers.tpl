{{- define "sdr.name" -}}
{{ .Release.Name | trunc 40 | trimSuffix "-" }}
{{- end }}
