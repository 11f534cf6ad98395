package gitremote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// env is a fake environment for Options.Getenv.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/org/config.git", "https://github.com/org/config.git"},
		{"https://x-access-token:ghp_abc123@github.com/org/config.git", "https://github.com/org/config.git"},
		{"https://ghp_abc123@github.com/org/config.git", "https://github.com/org/config.git"},
		{"https://gitlab-ci-token:glcbt-xyz@gitlab.example.com:8443/g/config.git", "https://gitlab.example.com:8443/g/config.git"},
		{"https://host/r.git?private_token=abc&ref=main", "https://host/r.git?ref=main"},
		{"https://host/r.git?access_token=abc&X-Amz-Signature=s&api_key=k", "https://host/r.git"},
		{"http://u:p%40ss@127.0.0.1:8080/config.git", "http://127.0.0.1:8080/config.git"},
		{"ssh://git@github.com/org/config.git", "ssh://github.com/org/config.git"},
		{"ssh://deploy:pw@host:2222/org/config.git", "ssh://host:2222/org/config.git"},
		{"git@github.com:org/config.git", "git@github.com:org/config.git"},
		{"github.com:org/config.git", "github.com:org/config.git"},
		{"tok:pw@github.com:org/config.git", "github.com:org/config.git"},
		{"git://host/config.git", "git://host/config.git"},
		{"file:///srv/git/config.git", "file:///srv/git/config.git"},
		{"/srv/git/config.git", "/srv/git/config.git"},
		{"../config", "../config"},
		{"https://u:p@host/%zz", "https://host/%zz"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubber(t *testing.T) {
	raw := "https://u:p%2Fss-word@host/r.git?token=tok-1234"
	s := scrubber{raw: raw, redacted: Redact(raw), secrets: append(urlSecrets(raw), "env-token-5678")}
	text := `Get "` + raw + `": bad; token tok-1234, env env-token-5678, password p/ss-word or p%2Fss-word`
	got := s.scrub(text)
	for _, secret := range []string{"tok-1234", "env-token-5678", "p/ss-word", "p%2Fss-word"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q left in %q", secret, got)
		}
	}
	if !strings.Contains(got, "https://host/r.git") {
		t.Errorf("redacted URL missing from %q", got)
	}
}

func TestRemoteHTTPAuth(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		env       func(string) string
		user      string // "" = no auth
		pass      string
		transport string
	}{
		{"no token", "https://h/r.git", env(), "", "", "https://h/r.git"},
		{"cac token first", "https://h/r.git", env("CAC_GIT_TOKEN", "c", "GITHUB_TOKEN", "g", "CI_JOB_TOKEN", "j"), "x-access-token", "c", "https://h/r.git"},
		{"github token", "https://h/r.git", env("GITHUB_TOKEN", "g", "CI_JOB_TOKEN", "j"), "x-access-token", "g", "https://h/r.git"},
		{"ci job token", "https://h/r.git", env("CI_JOB_TOKEN", "j"), "gitlab-ci-token", "j", "https://h/r.git"},
		{"gitlab token", "https://h/r.git", env("GITLAB_TOKEN", "l", "CI_JOB_TOKEN", "j"), "oauth2", "l", "https://h/r.git"},
		{"cac token on a gitlab host", "https://gitlab.example.com/g/r.git", env("CAC_GIT_TOKEN", "c"), "oauth2", "c", "https://gitlab.example.com/g/r.git"},
		{"cac token on the CI's gitlab", "https://git.corp/g/r.git", env("CAC_GIT_TOKEN", "c", "CI_SERVER_HOST", "git.corp"), "oauth2", "c", "https://git.corp/g/r.git"},
		{"gitlab host skips the github token", "https://gitlab.com/g/r.git", env("GITHUB_TOKEN", "g", "CI_JOB_TOKEN", "j"), "gitlab-ci-token", "j", "https://gitlab.com/g/r.git"},
		{"github host skips gitlab tokens", "https://github.com/o/r.git", env("GITLAB_TOKEN", "l", "CI_JOB_TOKEN", "j"), "", "", "https://github.com/o/r.git"},
		{"URL userinfo wins", "https://me:pw@h/r.git", env("GITHUB_TOKEN", "g"), "me", "pw", "https://h/r.git"},
		{"query token kept for the transport", "https://h/r.git?private_token=q", env(), "", "", "https://h/r.git?private_token=q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(ConfigRepo, tc.url, Options{Getenv: tc.env})
			if err != nil {
				t.Fatal(err)
			}
			if r.transport != tc.transport {
				t.Errorf("transport URL = %q, want %q", r.transport, tc.transport)
			}
			if tc.user == "" {
				if r.auth != nil {
					t.Errorf("auth = %v, want none", r.auth)
				}
				return
			}
			ba, ok := r.auth.(*githttp.BasicAuth)
			if !ok || ba.Username != tc.user || ba.Password != tc.pass {
				t.Errorf("auth = %#v, want basic %s:%s", r.auth, tc.user, tc.pass)
			}
		})
	}
}

func writeKey(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRemoteSSHAuth(t *testing.T) {
	key := writeKey(t)
	for _, tc := range []struct{ url, user, display string }{
		{"git@github.com:org/config.git", "git", "git@github.com:org/config.git"},
		{"github.com:org/config.git", "git", "github.com:org/config.git"},
		{"ssh://git@github.com/org/config.git", "git", "ssh://github.com/org/config.git"},
		{"ssh://deploy@host:2222/org/config.git", "deploy", "ssh://host:2222/org/config.git"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			r, err := Open(ConfigRepo, tc.url, Options{Getenv: env("CAC_SSH_KEY", key, "GITHUB_TOKEN", "not-for-ssh")})
			if err != nil {
				t.Fatal(err)
			}
			if r.endpoint.Protocol != "ssh" || r.display != tc.display {
				t.Errorf("protocol %q display %q, want ssh %q", r.endpoint.Protocol, r.display, tc.display)
			}
			pk, ok := r.auth.(*gitssh.PublicKeys)
			if !ok || pk.User != tc.user {
				t.Fatalf("auth = %#v, want public keys for %s", r.auth, tc.user)
			}
			if pk.HostKeyCallback != nil {
				t.Error("host key callback set: known_hosts would be bypassed")
			}
		})
	}

	t.Run("no key, no agent", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		_, err := Open(ConfigRepo, "git@github.com:org/config.git", Options{Getenv: env()})
		if cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "set CAC_SSH_KEY") {
			t.Errorf("error = %v (exit %d)", err, cacerr.ExitCode(err))
		}
	})
	t.Run("unreadable key", func(t *testing.T) {
		_, err := Open(ConfigRepo, "git@github.com:org/config.git", Options{Getenv: env("CAC_SSH_KEY", filepath.Join(t.TempDir(), "missing"))})
		if cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "CAC_SSH_KEY=") {
			t.Errorf("error = %v (exit %d)", err, cacerr.ExitCode(err))
		}
	})
	t.Run("unsupported protocol", func(t *testing.T) {
		_, err := Open(ConfigRepo, "ftp://u:pw@host/r.git", Options{Getenv: env()})
		if cacerr.ExitCode(err) != 2 || strings.Contains(err.Error(), "pw") {
			t.Errorf("error = %v (exit %d)", err, cacerr.ExitCode(err))
		}
	})
}

func TestRedactError(t *testing.T) {
	raw := "https://bob-user:tok-SEED-pw@git.example.com/rules.git?private_token=tok-SEED-q&ref=v1"
	inner := cacerr.Remote(fmt.Errorf(`fetch standard %s: Get "https://bob-user:***@git.example.com/rules.git?private_token=tok-SEED-q": refused`, raw))
	err := RedactError(inner, raw)
	if strings.Contains(err.Error(), "tok-SEED") || strings.Contains(err.Error(), "bob-user") {
		t.Errorf("not redacted: %v", err)
	}
	if !strings.Contains(err.Error(), "https://git.example.com/rules.git?ref=v1") || cacerr.ExitCode(err) != 3 || !errors.Is(err, inner) {
		t.Errorf("err = %v (exit %d)", err, cacerr.ExitCode(err))
	}
	plain := errors.New("nothing secret")
	if RedactError(plain, raw) != plain || RedactError(nil, raw) != nil {
		t.Error("an error without credentials was changed")
	}
}
