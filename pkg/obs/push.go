package obs

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cacproj/cac/pkg/gitremote"
)

// Label is one grouping label of a Pushgateway push: a Prometheus label name and its value.
type Label struct{ Name, Value string }

// PushTimeout bounds a push to the Pushgateway, connection and answer included.
const PushTimeout = 10 * time.Second

// PushURL is the Pushgateway URL of the group job+labels under base (the gateway's address, with
// any path prefix it is served under): base/metrics/job/<job>{/<name>/<value>}. A value that
// contains "/" or is empty is written "<name>@base64/<value as URL-safe base64>", as the
// Pushgateway API requires; other values are path-escaped.
func PushURL(base, job string, labels []Label) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("not an http(s) URL")
	}
	var p strings.Builder
	p.WriteString(strings.TrimRight(u.EscapedPath(), "/"))
	p.WriteString("/metrics")
	for _, l := range append([]Label{{"job", job}}, labels...) {
		p.WriteString("/" + pathLabel(l))
	}
	raw := p.String()
	if u.Path, err = url.PathUnescape(raw); err != nil {
		return "", err
	}
	u.RawPath, u.RawQuery, u.Fragment = raw, "", ""
	return u.String(), nil
}

// pathLabel is l as two path segments of a grouping key. The empty value, whose base64 is empty,
// is written "=" (a path segment cannot be empty).
func pathLabel(l Label) string {
	if l.Value == "" {
		return l.Name + "@base64/="
	}
	if strings.Contains(l.Value, "/") {
		return l.Name + "@base64/" + base64.URLEncoding.EncodeToString([]byte(l.Value))
	}
	return l.Name + "/" + url.PathEscape(l.Value)
}

// Push PUTs metrics (text exposition format 0.0.4, as WriteMetrics writes them) to the Pushgateway
// at base, replacing whatever the group job+labels held, so series of an earlier run do not linger.
// Credentials in base's userinfo are sent as HTTP basic auth. Any answer but 2xx is an error.
// Errors name the gateway with credentials removed (gitremote.Redact).
func Push(ctx context.Context, client *http.Client, base, job string, labels []Label, metrics []byte) error {
	where := gitremote.Redact(base)
	target, err := PushURL(base, job, labels)
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", where, err)
	}
	header := http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8"}}
	resp, answer, err := send(ctx, client, http.MethodPut, target, header, metrics, PushTimeout, "push metrics to "+where)
	if err != nil {
		return gitremote.RedactError(err, base)
	}
	if resp.StatusCode/100 != 2 {
		msg := fmt.Sprintf("push metrics to %s: the gateway answered %s", where, resp.Status)
		if s := strings.TrimSpace(string(answer)); s != "" {
			if len(s) > 300 {
				s = s[:300] + "..."
			}
			msg += ": " + s
		}
		return errors.New(gitremote.ScrubURL(msg, base))
	}
	return nil
}
