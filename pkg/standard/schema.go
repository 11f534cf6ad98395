package standard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// JSONSchema describes the standard as a JSON Schema (draft-07, what yaml-language-server and most
// editors support): types, enums from dict, anchored patterns, required keys, additionalProperties
// false wherever the key check applies, descriptions, and writeOnly for secrets. Checks a schema
// cannot express (expr, $key, $whitelist, $atLeastOne's messages) stay with `cac validate`; patterns
// using Go-only syntax such as (?i) are left out. Keys are required by the schema even when the
// region relies on _global/<region>.yaml to supply them.
func (s *Standard) JSONSchema() ([]byte, error) {
	root := mapSchema(s.root)
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["title"] = "cac values checked by " + s.Name
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return b.Bytes(), nil
}

func entrySchema(e *entry) map[string]any {
	if e.leaf != nil {
		return leafSchema(e.leaf)
	}
	return mapSchema(e.m)
}

func mapSchema(m *mapRule) map[string]any {
	sc := map[string]any{"type": "object"}
	desc := m.description
	if m.keyUSN {
		desc = sentence(desc, "Keys are service names (USNs) known to the service registry")
	}
	if m.whitelist != nil {
		desc = sentence(desc, "Only the services listed in "+m.whitelist.file+" may use it")
	}
	if desc != "" {
		sc["description"] = desc
	}
	if len(m.keys) > 0 {
		props := map[string]any{}
		for _, k := range m.keys {
			props[k] = entrySchema(m.fields[k])
		}
		sc["properties"] = props
	}
	required := append([]string(nil), m.mustAll...)
	for _, k := range requiredKeys(m) {
		if !contains(required, k) {
			required = append(required, k)
		}
	}
	if len(required) > 0 {
		sc["required"] = required
	}
	if len(m.atLeastOne) > 0 {
		var alts []any
		for _, k := range m.atLeastOne {
			alts = append(alts, map[string]any{"required": []string{k}})
		}
		sc["anyOf"] = alts
	}
	switch {
	case m.any:
		sc["additionalProperties"] = true
	case m.star != nil:
		sc["additionalProperties"] = entrySchema(m.star)
	default:
		sc["additionalProperties"] = false
	}
	return sc
}

var jsonTypes = map[string]string{TypeString: "string", TypeInt: "integer", TypeFloat: "number", TypeBool: "boolean"}

func leafSchema(r *Rule) map[string]any {
	sc := map[string]any{}
	if t := jsonTypes[r.Type]; t != "" {
		sc["type"] = t
	}
	if r.Description != "" {
		sc["description"] = r.Description
	}
	if len(r.Dict) > 0 {
		enum := make([]any, len(r.Dict))
		for i, d := range r.Dict {
			switch r.dictTag {
			case "!!int", "!!float":
				enum[i] = json.Number(d)
			case "!!bool":
				enum[i] = d == "true"
			default:
				enum[i] = d
			}
		}
		sc["enum"] = enum
	}
	if r.Pattern != "" && portable(r.Pattern) {
		sc["pattern"] = anchor(r.Pattern)
	}
	if r.ExcludePattern != "" && portable(r.ExcludePattern) {
		sc["not"] = map[string]any{"pattern": anchor(r.ExcludePattern)}
	}
	if r.Expr != "" {
		sc["$comment"] = "checked by cac validate: " + r.Expr
	}
	if r.Secret {
		sc["writeOnly"] = true
	}
	return sc
}

// goOnly finds regexp syntax JavaScript (ECMA 262) does not share: inline flags, \A \z, POSIX classes.
var goOnly = regexp.MustCompile(`\(\?[a-zA-Z]|\\[Az]|\[\[:`)

func portable(p string) bool { return !goOnly.MatchString(p) }

func sentence(a, b string) string {
	if a == "" {
		return b + "."
	}
	return strings.TrimSuffix(a, ".") + ". " + b + "."
}
