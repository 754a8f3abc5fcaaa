// Package observe holds what moat records about the calls it serves and what
// it keeps from everyone else: the audit log, one JSON line per tools/call
// and per refused call, and the secrets scrubbed from anything that leaves
// the host (tool results, log lines, audit lines).
//
// The host opens one Audit at start (OpenAudit with audit.path, or NewAudit
// over any writer), calls Record once per call it answered or refused, and
// closes it at shutdown to flush what is queued. A nil *Audit records
// nothing, so the host runs the same way with the audit log off.
//
// Secrets collects the values that must never be shown: API keys, tokens,
// the secrets granted to plugins. Scrub and ScrubJSON redact them from text
// and from JSON, WithExtra adds a request's own secrets (the caller's bearer
// token) for that request only, and Writer wraps a log destination.
//
// The package uses the standard library only, so any part of the host may
// import it.
package observe
