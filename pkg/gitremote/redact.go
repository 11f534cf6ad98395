package gitremote

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Redact returns raw with credentials removed, fit for messages, logs and reports: the userinfo of a
// URL (https://user:token@host/...) and query parameters that look like credentials (token,
// private_token, access_token, key, secret, password, signature ...). The user of an scp-like ssh
// address (git@host:org/repo.git) is kept: ssh addresses cannot carry a password. Local paths are
// returned unchanged.
func Redact(raw string) string {
	if ep, err := transport.NewEndpoint(raw); err == nil && ep.Protocol == "file" {
		return raw
	}
	if scpLike.MatchString(raw) {
		user, rest, ok := strings.Cut(raw, "@")
		if ok && strings.Contains(user, ":") {
			return rest
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Not parseable: cut anything that could be userinfo.
		return userinfo.ReplaceAllString(raw, "//")
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParam(k) {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

var (
	scpLike  = regexp.MustCompile(`^(?:[^@/]+@)?[^:/\s]+:[^/\\]`)
	userinfo = regexp.MustCompile(`//[^/]*@`)
)

func secretParam(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"token", "secret", "password", "passwd", "key", "auth", "sig", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// scrubber removes secrets from text that comes from libraries (go-git error messages may quote
// the URL they requested).
type scrubber struct {
	raw, redacted string
	secrets       []string
}

func (s scrubber) scrub(text string) string {
	if s.raw != "" && s.raw != s.redacted {
		text = strings.ReplaceAll(text, s.raw, s.redacted)
	}
	for _, secret := range s.secrets {
		if len(secret) >= 4 {
			text = strings.ReplaceAll(text, secret, "***")
		}
	}
	return text
}

// urlSecrets lists the credential parts of raw: its user name, password and credential-like query
// values, each also in its percent-encoded form.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || scpLike.MatchString(raw) {
		return nil
	}
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	if u.User != nil {
		add(u.User.Username())
		p, _ := u.User.Password()
		add(p)
	}
	for k, vs := range u.Query() {
		if secretParam(k) {
			for _, v := range vs {
				add(v)
			}
		}
	}
	return out
}

// ScrubURL removes the credentials of the URL raw from text (an error message that may quote raw,
// whole or in parts, as net/http and go-git do): raw itself becomes Redact(raw), and its user name,
// password and credential-like query values become "***".
func ScrubURL(text, raw string) string {
	return scrubber{raw: raw, redacted: Redact(raw), secrets: urlSecrets(raw)}.scrub(text)
}

// RedactError is err with ScrubURL applied to its message; errors.Is and errors.As still reach err
// (and its cacerr kind).
func RedactError(err error, raw string) error {
	if err == nil {
		return nil
	}
	msg := ScrubURL(err.Error(), raw)
	if msg == err.Error() {
		return err
	}
	return &redactedError{err: err, msg: msg}
}

type redactedError struct {
	err error
	msg string
}

func (r *redactedError) Error() string { return r.msg }
func (r *redactedError) Unwrap() error { return r.err }
