package gitremote

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// SameRepo reports whether the addresses a and b name the same repository: the same host (any
// case, any credentials, over http, https or ssh; an http(s) port other than 80 and 443 counts)
// and the same path, with or without a trailing ".git" or "/". cac serve uses it to tell a config
// repo's merge request from a code repo's.
func SameRepo(a, b string) bool {
	ka, oka := repoKey(a)
	kb, okb := repoKey(b)
	return oka && okb && ka == kb
}

func repoKey(raw string) (string, bool) {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return "", false
	}
	p := "/" + strings.Trim(strings.TrimSuffix(strings.TrimSuffix(ep.Path, "/"), ".git"), "/")
	switch ep.Protocol {
	case "file":
		return "file:" + p, true
	case "http", "https":
		host := strings.ToLower(ep.Host)
		if ep.Port != 0 && ep.Port != 80 && ep.Port != 443 {
			host += fmt.Sprintf(":%d", ep.Port)
		}
		return host + p, true
	}
	return strings.ToLower(ep.Host) + p, true
}
