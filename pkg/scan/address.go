package scan

import (
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// addrKind names what was found, for messages.
type addrKind string

const (
	kindURL  addrKind = "URL"
	kindIP   addrKind = "IP address"
	kindHost addrKind = "host name"
)

// address is one address found in a literal: its text, its offset in the literal, and the strings
// under which the config repo might manage it (the whole text, host:port, host ...).
type address struct {
	kind  addrKind
	text  string
	off   int
	forms []string
}

var (
	urlRe  = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>(){}\\^` + "`" + `]+`)
	ipv4Re = regexp.MustCompile(`(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}(?::[0-9]{1,5})?`)
	ipv6Re = regexp.MustCompile(`\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[0-9A-Za-z]+)?\]?(?::[0-9]{1,5})?`)
	hostRe = regexp.MustCompile(`(?i)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|io|cn|info|biz|us|uk|de|jp|sg|hk|tw|kr|ru|fr|eu|au|ca|br|internal|local|localdomain|corp|lan|intranet|intra|svc)(?::[0-9]{1,5})?`)
)

// ignoredHosts are never worth a finding: loopback, RFC 2606 examples, XML/JSON schema and
// licence hosts that appear in code as identifiers, not as places to connect to.
var ignoredHosts = []string{
	"localhost", "example.com", "example.org", "example.net", "example", "test", "invalid",
	"w3.org", "json-schema.org", "schemas.xmlsoap.org", "xmlns.jcp.org", "java.sun.com",
	"maven.apache.org", "apache.org", "springframework.org", "schemas.microsoft.com",
	"schemas.android.com", "schemas.openxmlformats.org", "purl.org", "xml.org", "schema.org",
	"gnu.org", "opensource.org", "ogp.me", "xmlns.com", "ns.adobe.com",
}

func ignoredHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, ig := range ignoredHosts {
		if h == ig || strings.HasSuffix(h, "."+ig) {
			return true
		}
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return ignoredIP(ip)
	}
	return false
}

// ignoredIP: loopback, unspecified (0.0.0.0, ::), 0.x and 255.x (versions, netmasks, broadcast).
func ignoredIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	if ip.Is4() {
		b := ip.As4()
		return b[0] == 0 || b[0] == 255
	}
	return false
}

// findAddresses returns the addresses in a literal, left to right. URLs are found first and the
// IPs and host names inside them are not reported again. line is the source line, used to tell
// version strings ("version 1.2.3.4") from IP addresses; it is only called when needed.
func findAddresses(lit string, line func() string) []address {
	if !strings.ContainsAny(lit, ".:") {
		return nil
	}
	var out []address
	taken := make([]bool, len(lit))
	take := func(a, b int) {
		for k := a; k < b; k++ {
			taken[k] = true
		}
	}
	free := func(a, b int) bool {
		for k := a; k < b; k++ {
			if taken[k] {
				return false
			}
		}
		return true
	}
	if strings.Contains(lit, "://") {
		for _, m := range urlRe.FindAllStringIndex(lit, -1) {
			text := strings.TrimRight(lit[m[0]:m[1]], ".,;$")
			take(m[0], m[0]+len(text))
			u, err := url.Parse(text)
			if err != nil || u.Host == "" || !validHost(u.Hostname()) || ignoredHost(u.Hostname()) {
				continue
			}
			origin := u.Scheme + "://" + u.Host
			out = append(out, address{kind: kindURL, text: text, off: m[0],
				forms: []string{text, strings.TrimSuffix(text, "/"), origin, u.Host, u.Hostname()}})
		}
	}
	for _, m := range ipv4Re.FindAllStringIndex(lit, -1) {
		if !free(m[0], m[1]) || !boundary(lit, m[0], m[1]) {
			continue
		}
		text := lit[m[0]:m[1]]
		host, _, _ := strings.Cut(text, ":")
		ip := netip.MustParseAddr(host)
		if ignoredIP(ip) || (m[0] > 0 && (lit[m[0]-1] == 'v' || lit[m[0]-1] == 'V')) ||
			strings.Contains(strings.ToLower(line()), "version") {
			continue
		}
		take(m[0], m[1])
		out = append(out, address{kind: kindIP, text: text, off: m[0], forms: []string{text, host}})
	}
	if strings.Count(lit, ":") >= 2 {
		for _, m := range ipv6Re.FindAllStringIndex(lit, -1) {
			if !free(m[0], m[1]) || !boundary(lit, m[0], m[1]) {
				continue
			}
			text := lit[m[0]:m[1]]
			host := text
			if strings.HasPrefix(text, "[") {
				host, _, _ = strings.Cut(text[1:], "]")
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !ip.Is6() || ignoredIP(ip) || !strings.ContainsAny(host, "0123456789") {
				continue
			}
			take(m[0], m[1])
			out = append(out, address{kind: kindIP, text: text, off: m[0], forms: []string{text, host}})
		}
	}
	for _, m := range hostRe.FindAllStringIndex(lit, -1) {
		if !free(m[0], m[1]) || !boundary(lit, m[0], m[1]) || (m[0] > 0 && lit[m[0]-1] == '@') {
			continue // part of a URL, a longer dotted name (java.net.URL) or an e-mail address
		}
		text := lit[m[0]:m[1]]
		host, _, _ := strings.Cut(text, ":")
		if ignoredHost(host) {
			continue
		}
		take(m[0], m[1])
		out = append(out, address{kind: kindHost, text: text, off: m[0], forms: []string{text, host}})
	}
	slices.SortFunc(out, func(a, b address) int { return a.off - b.off })
	return out
}

// boundary reports whether lit[a:b] is not glued to a longer word or dotted name.
func boundary(lit string, a, b int) bool {
	if a > 0 {
		if c := lit[a-1]; isIdentPart(c) || c == '.' || c == '-' || c == ':' {
			return false
		}
	}
	if b < len(lit) {
		c := lit[b]
		if isIdentPart(c) || c == '-' || c == ':' {
			return false
		}
		if c == '.' && b+1 < len(lit) && isIdentPart(lit[b+1]) {
			return false
		}
	}
	return true
}

// validHost accepts DNS names and IP literals, rejecting format verbs and template holes
// ("%s", "${host}", "{host}") and all-capital stand-ins ("HOST").
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !isIdentPart(c) && c != '-' && c != '.' {
			return false
		}
	}
	return strings.Contains(h, ".") || h != strings.ToUpper(h)
}

// redact hides the password of a URL's user info; no secret is ever printed.
func redact(a address) string {
	if a.kind != kindURL || !strings.Contains(a.text, "@") {
		return a.text
	}
	if u, err := url.Parse(a.text); err == nil && u.User != nil {
		return u.Redacted()
	}
	return a.text
}
