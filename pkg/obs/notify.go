package obs

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Notification is the JSON body POSTed to --notify-url when a run fails or is degraded (exit code
// 0, outcome Degraded: it succeeded, but not as asked, and someone should look).
type Notification struct {
	Command     string `json:"command"`
	ExitCode    int    `json:"exitCode"`
	Outcome     string `json:"outcome"` // degraded, findings, usage or remote
	Error       string `json:"error"`   // the message cac printed (or why the run is degraded), with credentials removed
	USN         string `json:"usn,omitempty"`
	Branch      string `json:"branch,omitempty"`
	PipelineURL string `json:"pipelineUrl,omitempty"` // the CI run, from GitHub Actions or GitLab CI variables
	Version     string `json:"version,omitempty"`
}

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" when a secret is configured, as
// GitHub signs its webhooks, so the receiver can tell cac's posts from anyone else's.
const SignatureHeader = "X-Cac-Signature-256"

// NotifyTimeout bounds a notification, connection and answer included.
const NotifyTimeout = 10 * time.Second

// Notify POSTs n as JSON to endpoint, signed with secret when it is not empty. Any answer but
// 2xx is an error. Errors name the endpoint by scheme and host only: webhook URLs often carry a
// token in their path.
func Notify(ctx context.Context, client *http.Client, endpoint, secret string, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	where := RedactURL(endpoint)
	header := http.Header{"Content-Type": {"application/json"}}
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, _, err := send(ctx, client, http.MethodPost, endpoint, header, body, NotifyTimeout, "notify "+where)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify %s: the server answered %s", where, resp.Status)
	}
	return nil
}

// RedactURL keeps only the scheme and host of raw.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the notify URL"
	}
	return u.Scheme + "://" + u.Host
}

// PipelineURL is the link to the CI run: GitHub Actions (GITHUB_SERVER_URL, GITHUB_REPOSITORY,
// GITHUB_RUN_ID) or GitLab CI (CI_PIPELINE_URL); "" elsewhere.
func PipelineURL(getenv func(string) string) string {
	if id, repo := getenv("GITHUB_RUN_ID"), getenv("GITHUB_REPOSITORY"); id != "" && repo != "" {
		server := getenv("GITHUB_SERVER_URL")
		if server == "" {
			server = "https://github.com"
		}
		return strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
	}
	return getenv("CI_PIPELINE_URL")
}

// TokenVars are environment variables that hold credentials; Scrub removes their values.
var TokenVars = []string{"CAC_GIT_TOKEN", "GITHUB_TOKEN", "CI_JOB_TOKEN", "GITLAB_TOKEN", "CAC_GITOPS_TOKEN",
	"CAC_SSH_KEY_PASSPHRASE", "CAC_NOTIFY_SECRET", "CAC_WEBHOOK_SECRET", "CAC_GITLAB_WEBHOOK_TOKEN"}

// Scrub replaces every credential found in TokenVars by "***" in msg. Messages are redacted where
// they are made; this is the second line of defence before text leaves the machine.
func Scrub(msg string, getenv func(string) string) string {
	for _, v := range TokenVars {
		if s := getenv(v); len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	return msg
}
