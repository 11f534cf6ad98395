package sops

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// SetOptions configure Set.
type SetOptions struct {
	// Rule is the .sops.yaml creation rule for the file: its recipients and which values a
	// plaintext file encrypts when it becomes a SOPS file. Unused for an encrypted file.
	Rule *Rule
	Keys *Keys // identities that open an encrypted file's data key
	Now  time.Time
}

// placeholder stands for a value Set adds, until it is encrypted.
const placeholder = "cac-secret-set-placeholder"

// Set writes value (a string) at the dotted path of the YAML file data, encrypted, and returns the
// new file. Comments, order and other values stay; a missing key is added (the file is then
// re-indented by the YAML encoder). An encrypted file keeps its data key and rules and gets a new
// MAC (the identity must open it, and it must not be tampered with); a plaintext file becomes a
// SOPS file for the rule's recipients, encrypting the values the rule selects (every value when
// the rule sets no encrypted_regex/suffix, as sops does).
func Set(name string, data []byte, path []string, value string, opt SetOptions) ([]byte, error) {
	if value == "" {
		return nil, cacerr.Usage("the value is empty: sops stores empty strings unencrypted")
	}
	f, ok, err := parse(name, data)
	if err != nil {
		return nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	var key dataKey
	if ok { // the identity must open the file, and the file must be intact
		if key, err = f.dataKey(opt.Keys); err != nil {
			return nil, err
		}
		d, err := f.decrypt(key)
		if err != nil {
			return nil, err
		}
		if len(d.Findings) > 0 {
			return nil, cacerr.Usage("%s: %s; fix the file before setting a value", d.Findings[0].Pos, d.Findings[0].Message)
		}
	}
	if data, err = ensurePath(data, path); err != nil {
		return nil, cacerr.Usage("%s: %w", name, err)
	}
	if !ok {
		return setPlain(name, data, path, value, opt)
	}
	if f, _, err = parse(name, data); err != nil {
		return nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	return setEncrypted(f, key, path, value, opt.Now)
}

// ensurePath makes sure a scalar (or null) value exists at path, adding mappings and the key
// (with a placeholder) where needed.
func ensurePath(data []byte, path []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	n := doc.Content[0]
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		n.Kind, n.Tag, n.Value = yaml.MappingNode, "!!map", ""
	}
	if len(path) > 0 && path[0] == MetadataKey {
		return nil, fmt.Errorf("%s is the sops metadata, not a value", MetadataKey)
	}
	added := false
	for i, k := range path {
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s is not a mapping", strings.Join(path[:i], "."))
		}
		next := field(n, k)
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if i == len(path)-1 {
				next = yamlnode.Str(placeholder)
			}
			n.Content = append(n.Content, yamlnode.Str(k), next)
			added = true
		}
		n = next
	}
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("%s holds a mapping or list, not a single value", strings.Join(path, "."))
	}
	if !added {
		return data, nil
	}
	return yamlnode.MarshalIndent(indentOf(data), &doc)
}

// indentOf guesses the indentation of a YAML file: that of its first indented key (default 2).
func indentOf(data []byte) int {
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimLeft(line, " ")
		if n := len(line) - len(t); n > 0 && t != "" && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "-") {
			return n
		}
	}
	return 2
}

// target finds the leaf at path.
func target(ls []leaf, path []string) int {
	for i, l := range ls {
		if strings.Join(l.path, "\x00") == strings.Join(path, "\x00") {
			return i
		}
	}
	return -1
}

func setEncrypted(f *file, key dataKey, path []string, value string, now time.Time) ([]byte, error) {
	var rules Rules
	if err := f.meta.Decode(&rules); err != nil {
		return nil, cacerr.Usage("%s: sops metadata: %w", f.name, err)
	}
	if enc, err := rules.encrypted(path); err != nil || !enc {
		if err != nil {
			return nil, cacerr.Usage("%s: %w", f.name, err)
		}
		return nil, cacerr.Usage("%s: the file's encryption rules (encrypted_regex %q …) leave %s in plain text; change them with sops, or choose a key they encrypt",
			f.name, rules.EncryptedRegex, strings.Join(path, "."))
	}
	ls := leaves(f.root)
	t := target(ls, path)
	if t < 0 {
		return nil, cacerr.Usage("%s: no value at %s", f.name, strings.Join(path, "."))
	}
	mac := newMAC(f.md.MACOnlyEncrypted)
	for i, l := range ls {
		switch {
		case i == t:
			mac.Write([]byte(value))
		case IsCiphertext(l.node.Value):
			plain, typ, err := key.open(l.node.Value, l.aad())
			if err != nil {
				return nil, cacerr.Usage("%s: %w", f.name, err)
			}
			b, err := macBytes(plain, typ)
			if err != nil {
				return nil, cacerr.Usage("%s: %w", f.name, err)
			}
			mac.Write([]byte(b))
		case !f.md.MACOnlyEncrypted:
			_, b, err := typedValue(l.node)
			if err != nil {
				return nil, cacerr.Usage("%s: %w", f.name, err)
			}
			mac.Write([]byte(b))
		}
	}
	starts := lineStarts(f.data)
	var reps []replacement
	replace := func(n *yaml.Node, text string) error {
		start, end, ok := span(f.data, starts, n)
		if !ok {
			return cacerr.Usage("%s:%d:%d: cannot locate the value in the text", f.name, n.Line, n.Column)
		}
		reps = append(reps, replacement{start, end, text})
		return nil
	}
	enc, err := key.seal(value, "str", ls[t].aad())
	if err != nil {
		return nil, err
	}
	if err := replace(ls[t].node, ls[t].encText(enc)); err != nil {
		return nil, err
	}
	lastModified := now.UTC().Format(time.RFC3339)
	encMAC, err := key.seal(fmt.Sprintf("%X", mac.Sum(nil)), "str", lastModified)
	if err != nil {
		return nil, err
	}
	lm, mn := field(f.meta, "lastmodified"), field(f.meta, "mac")
	if lm == nil || mn == nil {
		return nil, cacerr.Usage("%s: the sops metadata has no lastmodified or mac", f.name)
	}
	if err := replace(lm, `"`+lastModified+`"`); err != nil {
		return nil, err
	}
	if err := replace(mn, encMAC); err != nil {
		return nil, err
	}
	sort.Slice(reps, func(a, b int) bool { return reps[a].start < reps[b].start })
	return apply(f.data, reps), nil
}

func setPlain(name string, data []byte, path []string, value string, opt SetOptions) ([]byte, error) {
	r := opt.Rule
	if r == nil || len(r.Recipients) == 0 {
		return nil, cacerr.Usage("%s is not encrypted yet, and no creation rule with age recipients in .sops.yaml applies to it: add one (creation_rules: - path_regex: …, age: age1…)", name)
	}
	rules := r.cliRules()
	if enc, err := rules.encrypted(path); err != nil || !enc {
		if err != nil {
			return nil, cacerr.Usage(".sops.yaml: %w", err)
		}
		return nil, cacerr.Usage("the .sops.yaml rule for %s (encrypted_regex %q …) would leave %s in plain text; make the rule cover this key",
			name, r.EncryptedRegex, strings.Join(path, "."))
	}
	key, err := newDataKey()
	if err != nil {
		return nil, err
	}
	return sealPlain(name, data, key, r.Recipients, rules, opt.Now, &override{path, value})
}

// override replaces the value at path while a document is sealed (the value Set writes).
type override struct {
	path  []string
	value string
}

// sealPlain encrypts a plaintext YAML document (without sops metadata) with key: every value the
// rules select is sealed in place with its key path (empty strings stay, as sops leaves them), the
// MAC covers the values (only the encrypted ones with mac_only_encrypted), and a sops: mapping
// with the key wrapped for each recipient is appended. ov, when set, is a string value written at
// its path instead of the document's.
func sealPlain(name string, data []byte, key dataKey, recipients []string, rules Rules, now time.Time, ov *override) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cacerr.Usage("%s: invalid YAML: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, cacerr.Usage("%s: an empty document cannot be encrypted", name)
	}
	ls := leaves(doc.Content[0])
	t := -1
	if ov != nil {
		t = target(ls, ov.path)
	}
	mac := newMAC(rules.MACOnlyEncrypted)
	starts := lineStarts(data)
	var reps []replacement
	sealed := map[*yaml.Node]bool{} // an aliased value is hashed at every use, sealed once
	for i, l := range ls {
		typ, text, err := typedValue(l.node)
		if i == t {
			typ, text, err = "str", ov.value, nil
		}
		if err != nil {
			return nil, cacerr.Usage("%s:%d:%d: %w", name, l.node.Line, l.node.Column, err)
		}
		enc, err := rules.encrypted(l.path)
		if err != nil {
			return nil, cacerr.Usage("%s: encryption rules: %w", name, err)
		}
		if !rules.MACOnlyEncrypted || enc {
			mac.Write([]byte(text))
		}
		if !enc || text == "" || sealed[l.node] { // sops leaves empty strings as they are
			continue
		}
		sealed[l.node] = true
		encText, err := key.seal(text, typ, l.aad())
		if err != nil {
			return nil, err
		}
		start, end, ok := span(data, starts, l.node)
		if !ok {
			return nil, cacerr.Usage("%s:%d:%d: cannot locate the value in the text", name, l.node.Line, l.node.Column)
		}
		reps = append(reps, replacement{start, end, l.encText(encText)})
	}
	sort.Slice(reps, func(a, b int) bool { return reps[a].start < reps[b].start })
	out := apply(data, reps)
	meta, err := metadataNode(key, recipients, rules, mac.Sum(nil), now)
	if err != nil {
		return nil, err
	}
	block, err := yamlnode.MarshalIndent(4, &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{yamlnode.Str(MetadataKey), meta}})
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	return append(out, block...), nil
}

// Encrypts reports whether a file written under the rule encrypts the value at path (with no
// encrypted_regex/suffix set, every value but keys ending in _unencrypted, as the sops CLI does).
func (r *Rule) Encrypts(path []string) bool {
	enc, err := r.cliRules().encrypted(path)
	return err == nil && enc
}

// cliRules are the rule's rules with the sops CLI's default when none is set.
func (r *Rule) cliRules() Rules {
	rules := r.Rules
	if rules.EncryptedRegex == "" && rules.UnencryptedRegex == "" && rules.EncryptedSuffix == "" && rules.UnencryptedSuffix == "" {
		rules.UnencryptedSuffix = "_unencrypted" // the sops CLI's default
	}
	return rules
}

// EncryptFile encrypts a plaintext YAML file for the rule's age recipients with a new data key,
// sealing the values the rule selects, as `sops --encrypt` with that .sops.yaml rule does.
func EncryptFile(name string, data []byte, r *Rule, now time.Time) ([]byte, error) {
	if r == nil || len(r.Recipients) == 0 {
		return nil, cacerr.Usage("%s: no creation rule with age recipients applies to it", name)
	}
	if IsEncrypted(data) {
		return nil, cacerr.Usage("%s is already encrypted", name)
	}
	key, err := newDataKey()
	if err != nil {
		return nil, err
	}
	return sealPlain(name, data, key, r.Recipients, r.cliRules(), now, nil)
}
