package store

import (
	"regexp"
	"strings"
)

// redactedError keeps the chain of an error whose message had secrets
// replaced.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// jwt matches a signed JSON Web Token, such as the assertion a service
// account exchanges for an access token; a token server may echo it.
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// bearer matches an Authorization header value.
var bearer = regexp.MustCompile(`(?i)(bearer|sharedkey|AWS4-HMAC-SHA256)\s+[^\s"',]+`)

// scrubSecrets removes every credential from err's message — the given
// secret values, signed tokens and authorization headers — and makes it one
// line: provider errors span lines and may carry an XML or JSON body.
func scrubSecrets(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	out := msg
	for _, s := range secrets {
		if len(s) >= 4 {
			out = strings.ReplaceAll(out, s, "REDACTED")
		}
	}
	out = jwt.ReplaceAllString(out, "REDACTED")
	out = bearer.ReplaceAllString(out, "$1 REDACTED")
	if i := strings.Index(out, "<?xml"); i >= 0 {
		out = strings.TrimSpace(out[:i])
	}
	out = strings.Join(strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }), " ")
	out = dashes.ReplaceAllString(out, " ")
	out = strings.Join(strings.Fields(out), " ")
	if out == msg {
		return err
	}
	return &redactedError{msg: out, err: err}
}

var dashes = regexp.MustCompile(`-{8,}`)
