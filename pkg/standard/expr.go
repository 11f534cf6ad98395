package standard

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
)

// exprEnv is what an `expr` (and a `generator`) sees:
//
//	value   the value being checked (string, int, float64, bool; a list of them for a list value)
//	path    its dotted path, e.g. mysql.main.port
//	region  the region being validated
//	usn     the service being validated
//	values  the whole effective tree of the region as plain maps, lists and scalars
//	source  (generators only) the source region's value at path, nil when it has none
//
// and the helpers isIP(v), isDomain(v), isURL(v), isPort(v), each returning bool.
type exprEnv struct {
	Value  any            `expr:"value"`
	Path   string         `expr:"path"`
	Region string         `expr:"region"`
	USN    string         `expr:"usn"`
	Values map[string]any `expr:"values"`
	Source any            `expr:"source"` // generators only: the source region's value (nil when absent)
}

var exprOptions = []expr.Option{
	expr.Env(exprEnv{}),
	helper("isIP", isIP),
	helper("isDomain", isDomain),
	helper("isURL", isURL),
	helper("isPort", isPort),
}

func helper(name string, fn func(any) bool) expr.Option {
	return expr.Function(name, func(params ...any) (any, error) { return fn(params[0]), nil }, new(func(any) bool))
}

// isIP: an IPv4 or IPv6 address.
func isIP(v any) bool {
	s, ok := v.(string)
	return ok && net.ParseIP(s) != nil
}

// isDomain: a host name (RFC 1123 labels of letters, digits and inner dashes; single-label names such
// as redis allowed; a trailing dot allowed), not an IP address: the last label is never all digits.
func isDomain(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) == 0 || len(s) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i] | 0x20; !(c >= 'a' && c <= 'z') && !(l[i] >= '0' && l[i] <= '9') && l[i] != '-' {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	return strings.IndexFunc(last, func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// isURL: an absolute URL with a scheme and a host, e.g. https://api.example.com/v1.
func isURL(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// isPort: a whole number 1..65535 (an int, or text holding one).
func isPort(v any) bool {
	var n int
	switch x := v.(type) {
	case int:
		n = x
	case string:
		i, err := strconv.Atoi(x)
		if err != nil {
			return false
		}
		n = i
	default:
		return false
	}
	return n >= 1 && n <= 65535
}
