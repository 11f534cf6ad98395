package scan

import (
	"fmt"
	"strings"
)

// AddKnownAddresses fills dst (for Options.KnownValues) from one region's values tree as decoded
// by yaml.v3 (map[string]any, []any, scalars): every string leaf that is, as a whole, one address
// (IP, IP:port, host name, host:port or URL) is added under its dotted value path (list items by
// index: servers.0). Call it once per region; when several paths hold one value the smallest path
// is kept, so the result does not depend on order. skip, when not nil, leaves out paths such as
// secret leaves, whose values must never reach a message.
func AddKnownAddresses(dst map[string]string, tree any, skip func(path string) bool) {
	var walk func(p string, v any)
	walk = func(p string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(join(p, k), child)
			}
		case []any:
			for i, child := range v {
				walk(join(p, fmt.Sprint(i)), child)
			}
		case string:
			if p == "" || (skip != nil && skip(p)) {
				return
			}
			s := strings.TrimSpace(v)
			as := findAddresses(s, func() string { return "" })
			if len(as) != 1 || as[0].off != 0 || as[0].text != s {
				return
			}
			if old, ok := dst[s]; !ok || p < old {
				dst[s] = p
			}
		}
	}
	walk("", tree)
}

func join(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}
