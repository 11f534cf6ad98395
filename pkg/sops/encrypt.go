package sops

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/yamlnode"
)

// Rules decide which values of a file are encrypted (sops.go shouldBeEncrypted, without the
// comment regexes): with none set, every value is.
type Rules struct {
	EncryptedRegex    string `yaml:"encrypted_regex"`
	UnencryptedRegex  string `yaml:"unencrypted_regex"`
	EncryptedSuffix   string `yaml:"encrypted_suffix"`
	UnencryptedSuffix string `yaml:"unencrypted_suffix"`
	MACOnlyEncrypted  bool   `yaml:"mac_only_encrypted"`
	// Comment regexes are not supported when cac writes a file.
	EncryptedCommentRegex   string `yaml:"encrypted_comment_regex"`
	UnencryptedCommentRegex string `yaml:"unencrypted_comment_regex"`
}

// encrypted reports whether the value at path is encrypted under the rules.
func (r Rules) encrypted(path []string) (bool, error) {
	if r.EncryptedCommentRegex != "" || r.UnencryptedCommentRegex != "" {
		return false, fmt.Errorf("encrypted_comment_regex and unencrypted_comment_regex are not supported by cac; use sops to edit this file")
	}
	enc := true
	anyMatch := func(re string) (bool, error) {
		rx, err := regexp.Compile(re)
		if err != nil {
			return false, fmt.Errorf("regex %q: %w", re, err)
		}
		for _, p := range path {
			if rx.MatchString(p) {
				return true, nil
			}
		}
		return false, nil
	}
	anySuffix := func(s string) bool {
		for _, p := range path {
			if strings.HasSuffix(p, s) {
				return true
			}
		}
		return false
	}
	if r.UnencryptedSuffix != "" && anySuffix(r.UnencryptedSuffix) {
		enc = false
	}
	if r.EncryptedSuffix != "" {
		enc = anySuffix(r.EncryptedSuffix)
	}
	if r.UnencryptedRegex != "" {
		m, err := anyMatch(r.UnencryptedRegex)
		if err != nil {
			return false, err
		}
		if m {
			enc = false
		}
	}
	if r.EncryptedRegex != "" {
		m, err := anyMatch(r.EncryptedRegex)
		if err != nil {
			return false, err
		}
		enc = m
	}
	return enc, nil
}

// metaFields writes the rules into sops metadata, in sops' key order.
func (r Rules) metaFields() []any {
	var kv []any
	for _, f := range []struct{ k, v string }{
		{"unencrypted_suffix", r.UnencryptedSuffix}, {"encrypted_suffix", r.EncryptedSuffix},
		{"unencrypted_regex", r.UnencryptedRegex}, {"encrypted_regex", r.EncryptedRegex},
	} {
		if f.v != "" {
			kv = append(kv, f.k, f.v)
		}
	}
	if r.MACOnlyEncrypted {
		kv = append(kv, "mac_only_encrypted", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	return kv
}

// Rule is the creation rule of a .sops.yaml that applies to a file.
type Rule struct {
	Rules      `yaml:",inline"`
	PathRegex  string   `yaml:"path_regex"`
	Recipients []string `yaml:"-"` // age recipients
}

// ConfigRule returns the first creation rule of a .sops.yaml (data) that applies to path (relative
// to the .sops.yaml's directory, slash-separated): one without path_regex, or whose path_regex
// matches, as sops picks it. Nil when none applies.
func ConfigRule(data []byte, path string) (*Rule, error) {
	var cfg struct {
		CreationRules []struct {
			Rule `yaml:",inline"`
			Age  any `yaml:"age"`
		} `yaml:"creation_rules"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf(".sops.yaml: %w", err)
	}
	for _, r := range cfg.CreationRules {
		if r.PathRegex != "" {
			re, err := regexp.Compile(r.PathRegex)
			if err != nil {
				return nil, fmt.Errorf(".sops.yaml: path_regex %q: %w", r.PathRegex, err)
			}
			if !re.MatchString(path) {
				continue
			}
		}
		var keys []string
		switch a := r.Age.(type) {
		case string:
			keys = strings.Split(a, ",")
		case []any:
			for _, k := range a {
				if s, ok := k.(string); ok {
					keys = append(keys, strings.Split(s, ",")...)
				}
			}
		}
		rule := r.Rule
		for _, k := range keys {
			if k = strings.TrimSpace(k); k != "" {
				rule.Recipients = append(rule.Recipients, k)
			}
		}
		return &rule, nil
	}
	return nil, nil
}

// SecretRegex is the encrypted_regex KSOPS users put in .sops.yaml for Kubernetes Secrets: only the
// values under data/stringData are encrypted, so metadata stays readable for Argo CD.
const SecretRegex = `^(data|stringData)$`

// EncryptSecret encrypts a Kubernetes Secret (a mapping node of string leaves) the way `sops
// --encrypt --age R --encrypted-regex '^(data|stringData)$'` does: a fresh data key, every leaf
// under data/stringData sealed with its key path, a MAC over all leaves, the data key wrapped for
// each age recipient.
func EncryptSecret(doc *yaml.Node, recipients []string, now time.Time) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("no age recipient")
	}
	key, err := newDataKey()
	if err != nil {
		return nil, err
	}
	rules := Rules{EncryptedRegex: SecretRegex}
	mac := newMAC(false)
	for _, l := range leaves(doc) {
		if l.node.Tag != "!!str" {
			return nil, fmt.Errorf("sops: value at %s is %s, want a string", strings.Join(l.path, "."), l.node.Tag)
		}
		mac.Write([]byte(l.node.Value))
		enc, err := rules.encrypted(l.path)
		if err != nil {
			return nil, err
		}
		if enc && l.node.Value != "" {
			v, err := key.seal(l.node.Value, "str", l.aad())
			if err != nil {
				return nil, err
			}
			l.node.Value, l.node.Style = v, 0
		}
	}
	meta, err := metadataNode(key, recipients, rules, mac.Sum(nil), now)
	if err != nil {
		return nil, err
	}
	doc.Content = append(doc.Content, yamlnode.Str(MetadataKey), meta)
	return yamlnode.Marshal(doc)
}

// metadataNode builds the sops: mapping: the data key for each recipient, lastmodified, the
// sealed MAC, the rules and the version.
func metadataNode(key dataKey, recipients []string, rules Rules, sum []byte, now time.Time) (*yaml.Node, error) {
	var ages []any
	for _, r := range recipients {
		enc, err := wrapKey(key, r)
		if err != nil {
			return nil, err
		}
		ages = append(ages, yamlnode.OrderedMap("recipient", r, "enc", enc))
	}
	lastModified := now.UTC().Format(time.RFC3339)
	encMAC, err := key.seal(fmt.Sprintf("%X", sum), "str", lastModified)
	if err != nil {
		return nil, err
	}
	kv := []any{"age", ages, "lastmodified", lastModified, "mac", encMAC}
	kv = append(kv, rules.metaFields()...)
	kv = append(kv, "version", Version)
	return yamlnode.OrderedMap(kv...), nil
}
