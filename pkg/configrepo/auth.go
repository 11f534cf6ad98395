package configrepo

import (
	"fmt"
	"net/url"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/cacproj/cac/pkg/cacerr"
)

// TokenVars are the environment variables read, in order, for an https token.
var TokenVars = []string{"CAC_GIT_TOKEN", "GITHUB_TOKEN", "CI_JOB_TOKEN"}

// TokenAuth is https basic auth with the first token set in TokenVars (user gitlab-ci-token for
// CI_JOB_TOKEN, x-access-token otherwise) and the variable it came from; nil when none is set.
func TokenAuth(getenv func(string) string) (*githttp.BasicAuth, string) {
	for _, name := range TokenVars {
		if tok := getenv(name); tok != "" {
			user := "x-access-token"
			if name == "CI_JOB_TOKEN" {
				user = "gitlab-ci-token"
			}
			return &githttp.BasicAuth{Username: user, Password: tok}, name
		}
	}
	return nil, ""
}

// remote is a parsed --config-repo address with the credentials to use for it.
type remote struct {
	endpoint  *transport.Endpoint
	transport string // address handed to go-git: no userinfo (credentials travel in auth)
	display   string // Redact(raw)
	auth      transport.AuthMethod
	authHint  string // where the credentials came from, for error messages
	scrub     scrubber
}

// newRemote parses raw and picks its credentials: for http(s) the URL's own userinfo, else the
// first token set in TokenVars (user gitlab-ci-token for CI_JOB_TOKEN, x-access-token otherwise);
// for ssh the key file named by CAC_SSH_KEY (passphrase in CAC_SSH_KEY_PASSPHRASE), else the ssh
// agent, with host keys checked against known_hosts; file addresses need none.
func newRemote(raw string, getenv func(string) string) (*remote, error) {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, cacerr.Usage("config repo %s: not a git URL or path", Redact(raw))
	}
	r := &remote{endpoint: ep, transport: raw, display: Redact(raw)}
	secrets := urlSecrets(raw)
	switch ep.Protocol {
	case "http", "https":
		u, err := url.Parse(raw)
		if err != nil {
			return nil, cacerr.Usage("config repo %s: not a git URL or path", r.display)
		}
		if u.User != nil {
			pass, _ := u.User.Password()
			r.auth = &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
			r.authHint = "the credentials in the config repo URL"
			u.User = nil
			r.transport = u.String()
			break
		}
		if auth, name := TokenAuth(getenv); auth != nil {
			r.auth, r.authHint = auth, "the token in "+name
			secrets = append(secrets, auth.Password)
		} else {
			r.authHint = "the token (set one of CAC_GIT_TOKEN, GITHUB_TOKEN, CI_JOB_TOKEN)"
		}
	case "ssh":
		user := ep.User
		if user == "" {
			user = "git"
		}
		if key := getenv("CAC_SSH_KEY"); key != "" {
			pass := getenv("CAC_SSH_KEY_PASSPHRASE")
			secrets = append(secrets, pass)
			k, err := gitssh.NewPublicKeysFromFile(user, key, pass)
			if err != nil {
				return nil, cacerr.Usage("config repo %s: read ssh key CAC_SSH_KEY=%s: %w", r.display, key, err)
			}
			r.auth = k
			r.authHint = "the ssh key in CAC_SSH_KEY and known_hosts"
		} else {
			a, err := gitssh.NewSSHAgentAuth(user)
			if err != nil {
				return nil, cacerr.Usage("config repo %s: no ssh credentials: set CAC_SSH_KEY to a private key file or start an ssh agent: %w", r.display, err)
			}
			r.auth = a
			r.authHint = "the keys in your ssh agent and known_hosts"
		}
	case "file", "git":
	default:
		return nil, cacerr.Usage("config repo %s: unsupported protocol %q (use https, ssh, git, file or a path)", r.display, ep.Protocol)
	}
	r.scrub = scrubber{raw: raw, redacted: r.display, secrets: secrets}
	return r, nil
}

func (r *remote) String() string { return r.display }

// errorf builds an error whose text has every secret of r scrubbed out, keeping err in the chain.
func (r *remote) errorf(err error, format string, args ...any) error {
	return &scrubbedError{msg: r.scrub.scrub(fmt.Sprintf(format, args...)), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
