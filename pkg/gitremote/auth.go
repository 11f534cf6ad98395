package gitremote

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/cacproj/cac/pkg/cacerr"
)

// TokenVars are the environment variables read for an https token, in order (for a host known
// to be GitHub or GitLab only that forge's variables count; see Open).
var TokenVars = []string{"CAC_GIT_TOKEN", "GITHUB_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN"}

// Options say how to reach a remote.
type Options struct {
	// Getenv reads credentials (TokenVars, CAC_SSH_KEY, CAC_SSH_KEY_PASSPHRASE) and the CI's forge
	// (CI_SERVER_HOST, GITHUB_SERVER_URL); nil means os.Getenv.
	Getenv func(string) string
	// Token, when set, is the https token to use instead of the environment's (the user name is
	// still chosen by forge).
	Token string
	// Policy bounds and retries every operation on the remote.
	Policy Policy
}

// Remote is a parsed repository address with the credentials to use for it.
type Remote struct {
	role      Role
	endpoint  *transport.Endpoint
	transport string // address handed to go-git: no userinfo (credentials travel in auth)
	display   string // Redact(raw)
	auth      transport.AuthMethod
	authHint  string // where the credentials came from, for error messages
	scrub     scrubber
	policy    Policy
}

// Open parses raw, an https, ssh (ssh://... or git@host:org/repo.git), git or file URL or a local
// path, and picks its credentials:
//   - http(s): the URL's own userinfo; else Options.Token or the first token variable set, with
//     the user name the forge expects: x-access-token for GitHub tokens, gitlab-ci-token for
//     GitLab's CI_JOB_TOKEN, oauth2 for other GitLab tokens (GITLAB_TOKEN, or CAC_GIT_TOKEN for a
//     GitLab host: one whose name contains "gitlab" or equals CI_SERVER_HOST);
//   - ssh: the key file in CAC_SSH_KEY (passphrase in CAC_SSH_KEY_PASSPHRASE), else the ssh agent,
//     with host keys checked against known_hosts;
//   - git, file and paths: none.
//
// A bad address or unusable ssh key is a cacerr.KindUsage error naming role.
func Open(role Role, raw string, o Options) (*Remote, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	installTransport()
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, cacerr.Usage("%s %s: not a git URL or path", role, Redact(raw))
	}
	r := &Remote{role: role, endpoint: ep, transport: raw, display: Redact(raw), policy: o.Policy.normal()}
	secrets := urlSecrets(raw)
	switch ep.Protocol {
	case "http", "https":
		u, err := url.Parse(raw)
		if err != nil {
			return nil, cacerr.Usage("%s %s: not a git URL or path", role, r.display)
		}
		if u.User != nil {
			pass, _ := u.User.Password()
			r.auth = &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
			r.authHint = "the credentials in the " + string(role) + " URL"
			u.User = nil
			r.transport = u.String()
			break
		}
		user, tok, from := token(u.Hostname(), o.Token, getenv)
		if tok != "" {
			r.auth, r.authHint = &githttp.BasicAuth{Username: user, Password: tok}, "the token in "+from
			secrets = append(secrets, tok)
		} else {
			r.authHint = "the token (set one of " + strings.Join(TokenVars, ", ") + ")"
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
				return nil, cacerr.Usage("%s %s: read ssh key CAC_SSH_KEY=%s: %w", role, r.display, key, err)
			}
			r.auth = k
			r.authHint = "the ssh key in CAC_SSH_KEY and known_hosts"
		} else {
			a, err := gitssh.NewSSHAgentAuth(user)
			if err != nil {
				return nil, cacerr.Usage("%s %s: no ssh credentials: set CAC_SSH_KEY to a private key file or start an ssh agent: %w", role, r.display, err)
			}
			r.auth = a
			r.authHint = "the keys in your ssh agent and known_hosts"
		}
	case "file", "git":
	default:
		return nil, cacerr.Usage("%s %s: unsupported protocol %q (use https, ssh, git, file or a path)", role, r.display, ep.Protocol)
	}
	r.scrub = scrubber{raw: raw, redacted: r.display, secrets: secrets}
	return r, nil
}

// token picks the https user name and token for host: explicit (from Options.Token) or the first
// token variable that fits the host's forge. from names where it came from.
func token(host, explicit string, getenv func(string) string) (user, tok, from string) {
	gitlab := strings.Contains(strings.ToLower(host), "gitlab") || (host != "" && host == getenv("CI_SERVER_HOST"))
	github := host == "github.com" || (host != "" && hostOf(getenv("GITHUB_SERVER_URL")) == host)
	if explicit != "" {
		if gitlab {
			return "oauth2", explicit, "the given token"
		}
		return "x-access-token", explicit, "the given token"
	}
	for _, name := range TokenVars {
		tok := getenv(name)
		if tok == "" {
			continue
		}
		switch name {
		case "CAC_GIT_TOKEN":
			if gitlab {
				return "oauth2", tok, name
			}
			return "x-access-token", tok, name
		case "GITHUB_TOKEN":
			if !gitlab {
				return "x-access-token", tok, name
			}
		case "GITLAB_TOKEN":
			if !github {
				return "oauth2", tok, name
			}
		case "CI_JOB_TOKEN":
			if !github {
				return "gitlab-ci-token", tok, name
			}
		}
	}
	return "", "", ""
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// String is the redacted address.
func (r *Remote) String() string { return r.display }

// Role is what the repository is to cac.
func (r *Remote) Role() Role { return r.role }

// LocalPath is the path of a file URL or plain path; ok is false for other addresses.
func (r *Remote) LocalPath() (path string, ok bool) {
	if r.endpoint.Protocol != "file" {
		return "", false
	}
	return r.endpoint.Path, true
}

// Redact scrubs r's credentials out of text (a message that may quote the address or the token).
func (r *Remote) Redact(text string) string { return r.scrub.scrub(text) }

// errorf builds an error whose text has every secret of r scrubbed out, keeping err in the chain.
func (r *Remote) errorf(err error, format string, args ...any) error {
	return &scrubbedError{msg: r.scrub.scrub(fmt.Sprintf(format, args...)), err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
