package migrate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/standard"
)

// DefaultRoot is the subtree for a service's own settings: values that match no standard middleware
// go under it. The shipped standard (rules/standard.yaml) keeps free-form settings under `extend`.
const DefaultRoot = "extend"

// sanitize turns a key into a path segment ([A-Za-z0-9_-]+): other characters become _.
func sanitize(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if ok {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under {
			b.WriteByte('_')
			under = true
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

func sanitizeAll(segs []string) []string {
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		if s == "" {
			continue
		}
		out = append(out, sanitize(s))
	}
	return out
}

// leafKinds maps a key's last word to the standard's leaf name; database names only for mysql.
var leafKinds = map[string]string{
	"host": "ip", "hostname": "ip", "ip": "ip", "addr": "ip", "address": "ip", "server": "ip",
	"port": "port", "user": "username", "username": "username",
	"password": "password", "passwd": "password", "pwd": "password",
	"database": "database", "dbname": "database", "schema": "database", "name": "database",
}

var middle = map[string]string{"mysql": "mysql", "mariadb": "mysql", "db": "mysql", "database": "mysql",
	"datasource": "mysql", "jdbc": "mysql", "redis": "redis"}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == '_' || r == '-' })
}

// standardPath maps a database or redis connection key (host, port, user, password, database) to
// the standard's mysql.<tag>.<leaf> or redis.<tag>.<leaf>. It returns "" when the key is not one.
func standardPath(segs []string) string {
	type part struct {
		word string
		seg  int
	}
	var parts []part
	for i, s := range segs {
		for _, w := range words(s) {
			parts = append(parts, part{w, i})
		}
	}
	if len(parts) < 2 {
		return ""
	}
	kind, ok := leafKinds[parts[len(parts)-1].word]
	if !ok {
		return ""
	}
	parts = parts[:len(parts)-1]
	for i := len(parts) - 1; i >= 0; i-- {
		mw, ok := middle[parts[i].word]
		if !ok {
			continue
		}
		if kind == "database" && mw != "mysql" {
			return ""
		}
		// The tag: what follows the middleware's name (mysql.orders.host, REDIS_CACHE_HOST), else
		// what precedes it in the same key (orders_db.host), else main.
		var tag []string
		for _, p := range parts[i+1:] {
			tag = append(tag, p.word)
		}
		for j := i - 1; len(tag) == 0 && j >= 0 && parts[j].seg == parts[i].seg; j-- {
			tag = append([]string{parts[j].word}, tag...)
		}
		if len(tag) == 0 {
			tag = []string{"main"}
		}
		return mw + "." + sanitize(strings.Join(tag, "_")) + "." + kind
	}
	return ""
}

// secretWords mark a key whose value must never be printed.
var secretWords = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "api-key",
	"private_key", "privatekey", "private-key", "credential", "access_key", "accesskey"}

func isSecret(segs []string) bool {
	for i := len(segs) - 1; i >= 0; i-- {
		k := strings.ToLower(segs[i])
		for _, w := range secretWords {
			if strings.Contains(k, w) {
				return true
			}
		}
		if k != "value" && k != "val" { // env: [{name: DB_PASSWORD, value: ...}] names the secret one up
			return false
		}
	}
	return false
}

// pathRule names a placeholder: a preferred path, and which segment to vary when it is taken.
// std marks a path of the standard (middleware connection settings), which import keeps only when
// the values satisfy the standard's rules there.
type pathRule struct {
	path string
	vary int
	std  bool
	// free and freeVary name the value under the root instead, for a std path the values do not fit.
	free     string
	freeVary int
}

// namer derives value paths from keys.
type namer struct {
	root string             // subtree of the service's own settings
	maps map[string]string  // --map overrides
	std  *standard.Standard // a standard path is kept only where the values satisfy it; nil: always
	usn  string             // the service, for the standard's whitelists
}

// derive names a value from its raw key path: the standard path when it fits, else
// <root>.<prefix>.<key path>. prefix (the file's stem) is used for text files, whose keys are flat.
func (nm namer) derive(segs []string, prefix []string) pathRule {
	clean := sanitizeAll(segs)
	raw := strings.Join(clean, ".")
	full := append(append([]string{nm.root}, prefix...), clean...)
	r := pathRule{path: strings.Join(full, "."), vary: len(full) - 1}
	if std := standardPath(segs); std != "" {
		r = pathRule{path: std, vary: 1, std: true, free: r.path, freeVary: r.vary}
	}
	for _, from := range []string{r.path, raw} {
		if to, ok := mapPath(from, nm.maps); ok {
			return pathRule{path: to, vary: strings.Count(to, ".")}
		}
	}
	return r
}

// mapPath applies the longest --map rule whose source equals p or is a prefix of it (whole segments).
func mapPath(p string, maps map[string]string) (string, bool) {
	keys := make([]string, 0, len(maps))
	for k := range maps {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if p == k {
			return maps[k], true
		}
		if strings.HasPrefix(p, k+".") {
			return maps[k] + p[len(k):], true
		}
	}
	return "", false
}

// candidate returns the n-th alternative of a path (n=0 is the path itself): the vary segment, then
// the segments before it, get a _2, _3 ... suffix.
func (r pathRule) candidate(n int) (string, bool) {
	if n == 0 {
		return r.path, true
	}
	segs := strings.Split(r.path, ".")
	const perSeg = 20
	k := r.vary - (n-1)/perSeg
	if k < 0 || r.vary >= len(segs) {
		return "", false
	}
	segs[k] = fmt.Sprintf("%s_%d", segs[k], (n-1)%perSeg+2)
	return strings.Join(segs, "."), true
}

// checkPath validates a user-given path (--map target).
func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	for _, s := range strings.Split(p, ".") {
		if s == "" || sanitize(s) != s {
			return fmt.Errorf("path %q: segments must be letters, digits, _ and -, separated by dots", p)
		}
	}
	if strings.HasPrefix(p, "_") {
		return fmt.Errorf("path %q: names starting with _ are reserved (built-ins live under _cac)", p)
	}
	return nil
}
