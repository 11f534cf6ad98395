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

// ipv6Re finds IPv6 candidates; netip.ParseAddr decides. URLs, IPv4 addresses and host names are
// found by hand-written scans, several times faster than regexps run on every literal.
var ipv6Re = regexp.MustCompile(`\[?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[0-9A-Za-z]+)?\]?(?::[0-9]{1,5})?`)

// internalTLDs are the suffixes of private names, which differ from one environment to the next.
var internalTLDs = map[string]bool{
	"internal": true, "local": true, "localdomain": true, "corp": true, "lan": true, "intranet": true,
	"intra": true, "svc": true,
}

// tlds are the last labels that make a dotted word a host name (db.corp.com, redis.ns.svc). Common
// file extensions that are also country codes (.sh, .py, .md, .rs) are left out on purpose.
var tlds = map[string]bool{
	"com": true, "net": true, "org": true, "io": true, "cn": true, "biz": true, "us": true,
	"uk": true, "de": true, "jp": true, "sg": true, "hk": true, "tw": true, "kr": true, "ru": true,
	"fr": true, "eu": true, "au": true, "ca": true, "br": true, "internal": true, "local": true,
	"localdomain": true, "corp": true, "lan": true, "intranet": true, "intra": true, "svc": true,
}

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
// IPs and host names inside them are not reported again. line returns the source line, used to tell
// version strings ("version 1.2.3.4") from IP addresses; it is only called when needed.
func findAddresses(lit string, line func() string) []address {
	if !strings.ContainsAny(lit, ".:") {
		return nil
	}
	var out []address
	var taken []bool // bytes of lit already inside a reported URL or address
	take := func(a, b int) {
		if taken == nil {
			taken = make([]bool, len(lit))
		}
		for k := a; k < b; k++ {
			taken[k] = true
		}
	}
	free := func(a, b int) bool {
		for k := a; k < b && taken != nil; k++ {
			if taken[k] {
				return false
			}
		}
		return true
	}
	// URLs: scheme://rest, up to a space, quote or bracket.
	for i := 0; ; {
		k := strings.Index(lit[i:], "://")
		if k < 0 {
			break
		}
		sep := i + k
		a, b := sep, sep+3
		for a > 0 && isSchemeChar(lit[a-1]) {
			a--
		}
		for a < sep && !isLetter(lit[a]) {
			a++
		}
		for b < len(lit) && !strings.ContainsRune(" \t\r\n\"'<>(){}\\^`", rune(lit[b])) {
			b++
		}
		i = b
		text := strings.TrimRight(lit[a:b], ".,;$")
		take(a, a+len(text))
		if a == sep {
			continue // "://" without a scheme
		}
		u, err := url.Parse(text)
		if err != nil || u.Host == "" || !validHost(u.Hostname()) || ignoredHost(u.Hostname()) {
			continue
		}
		origin := u.Scheme + "://" + u.Host
		out = append(out, address{kind: kindURL, text: text, off: a,
			forms: []string{text, strings.TrimSuffix(text, "/"), origin, u.Host, u.Hostname()}})
	}
	// Words of host-name characters: an IPv4 address, or a dotted name ending in a known TLD;
	// either with an optional :port. A word glued to @ (e-mail) or : is not an address.
	for i := 0; i < len(lit); {
		if !isHostChar(lit[i]) {
			i++
			continue
		}
		a := i
		for i < len(lit) && isHostChar(lit[i]) {
			i++
		}
		word := strings.TrimRight(lit[a:i], ".-")
		b := a + len(word)
		if !strings.Contains(word, ".") || !free(a, b) || (a > 0 && (lit[a-1] == '@' || lit[a-1] == ':')) {
			continue
		}
		end := b
		if b == i && b+1 < len(lit) && lit[b] == ':' {
			p := b + 1
			for p < len(lit) && p-b <= 5 && lit[p] >= '0' && lit[p] <= '9' {
				p++
			}
			switch {
			case p > b+1 && (p == len(lit) || (!isHostChar(lit[p]) && lit[p] != ':')):
				end = p
			case p < len(lit) && lit[p] == ':', p == b+1 && lit[p] == ':':
				continue // one piece of something colon-separated (IPv6, a time)
			}
		}
		text := lit[a:end]
		if ip, err := netip.ParseAddr(word); err == nil && ip.Is4() {
			if ignoredIP(ip) || (a > 0 && (lit[a-1] == 'v' || lit[a-1] == 'V')) ||
				strings.Contains(strings.ToLower(line()), "version") {
				continue
			}
			take(a, end)
			out = append(out, address{kind: kindIP, text: text, off: a, forms: []string{text, word}})
			continue
		}
		if !isHostName(word) || ignoredHost(word) || (end < len(lit) && lit[end] == '/') {
			continue // not a host, or a scheme-less path such as the import path github.com/x/y
		}
		take(a, end)
		out = append(out, address{kind: kindHost, text: text, off: a, forms: []string{text, word}})
	}
	if strings.Contains(lit, "::") || strings.Count(lit, ":") >= 7 { // compressed or full IPv6
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

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isSchemeChar(c byte) bool {
	return isLetter(c) || ('0' <= c && c <= '9') || c == '+' || c == '.' || c == '-'
}

func isHostChar(c byte) bool { return isIdentPart(c) || c == '.' || c == '-' }

// isHostName reports whether w is a DNS name of two or more labels ending in a known TLD.
func isHostName(w string) bool {
	labels := strings.Split(w, ".")
	if len(labels) < 2 || !tlds[strings.ToLower(labels[len(labels)-1])] {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.Contains(l, "_") {
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
