package gitops

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"gopkg.in/yaml.v3"
)

// sopsEncryptedRegex is the encrypted_regex KSOPS users put in .sops.yaml for Kubernetes Secrets:
// only the values under data/stringData are encrypted, so metadata stays readable for Argo CD.
const sopsEncryptedRegex = `^(data|stringData)$`

// sopsVersion is the SOPS file-format version written into the metadata. The format below is the one
// github.com/getsops/sops/v3 v3.13.x reads; the tests decrypt our output with that library.
const sopsVersion = "3.13.3"

var encryptedKey = regexp.MustCompile(sopsEncryptedRegex)

// sopsEncrypt encrypts a YAML document (a mapping node) the way `sops --encrypt --age R
// --encrypted-regex '^(data|stringData)$'` does: a fresh 256-bit data key, every string leaf under a
// data/stringData key replaced by ENC[AES256_GCM,...] with its key path as additional data, a MAC over
// all leaves, and the data key wrapped for each age recipient.
//
// We write the format ourselves with filippo.io/age and crypto/aes instead of importing the sops
// packages: every sops package except sops/age imports the root package, which links the AWS, GCP,
// Azure, Vault and HuaweiCloud KMS clients (+~30 MB per binary, see the package README).
func sopsEncrypt(doc *yaml.Node, recipients []string, now time.Time) ([]byte, error) {
	rs := make([]age.Recipient, 0, len(recipients))
	for _, r := range recipients {
		rec, err := age.ParseX25519Recipient(r)
		if err != nil {
			return nil, fmt.Errorf("parse age recipient %q: %w", r, err)
		}
		rs = append(rs, rec)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no age recipient")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 32)
	if err != nil {
		return nil, err
	}
	seal := func(plain, aad string) (string, error) {
		iv := make([]byte, 32)
		if _, err := rand.Read(iv); err != nil {
			return "", err
		}
		out := gcm.Seal(nil, iv, []byte(plain), []byte(aad))
		n := len(out) - gcm.Overhead()
		b64 := base64.StdEncoding.EncodeToString
		return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:str]", b64(out[:n]), b64(iv), b64(out[n:])), nil
	}
	mac := sha512.New()
	var walk func(n *yaml.Node, path []string, enc bool) error
	walk = func(n *yaml.Node, path []string, enc bool) error {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if err := walk(n.Content[i+1], append(path, k), enc || encryptedKey.MatchString(k)); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			if n.Tag != "!!str" {
				return fmt.Errorf("sops: value at %s is %s, want a string", strings.Join(path, "."), n.Tag)
			}
			mac.Write([]byte(n.Value))
			if enc && n.Value != "" {
				v, err := seal(n.Value, strings.Join(path, ":")+":")
				if err != nil {
					return err
				}
				n.Value, n.Style = v, 0
			}
		default:
			return fmt.Errorf("sops: unexpected node at %s", strings.Join(path, "."))
		}
		return nil
	}
	if err := walk(doc, nil, false); err != nil {
		return nil, err
	}
	lastModified := now.UTC().Format(time.RFC3339)
	encMAC, err := seal(fmt.Sprintf("%X", mac.Sum(nil)), lastModified)
	if err != nil {
		return nil, err
	}
	var ages []any
	for i, r := range rs {
		var buf bytes.Buffer
		aw := armor.NewWriter(&buf)
		w, err := age.Encrypt(aw, r)
		if err != nil {
			return nil, fmt.Errorf("wrap data key for age recipient: %w", err)
		}
		if _, err := w.Write(key); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
		ages = append(ages, map[string]any{"recipient": recipients[i], "enc": buf.String() + "\n"})
	}
	meta := orderedMap(
		"age", ages,
		"lastmodified", lastModified,
		"mac", encMAC,
		"encrypted_regex", sopsEncryptedRegex,
		"version", sopsVersion,
	)
	doc.Content = append(doc.Content, strNode("sops"), meta)
	return marshalYAML(doc)
}

// orderedMap builds a mapping node from key, value pairs, in that order.
func orderedMap(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, strNode(kv[i].(string)), toNode(kv[i+1]))
	}
	return m
}

func toNode(v any) *yaml.Node {
	switch v := v.(type) {
	case *yaml.Node:
		return v
	case string:
		return strNode(v)
	default:
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			panic(err) // only maps, lists and strings built in this package reach here
		}
		return n
	}
}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func marshalYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sopsConfigRecipients reads the age recipients of the first creation rule of a .sops.yaml that
// applies to path (no path_regex, or one that matches) and names age keys.
func sopsConfigRecipients(data []byte, path string) ([]string, error) {
	var cfg struct {
		CreationRules []struct {
			PathRegex string `yaml:"path_regex"`
			Age       any    `yaml:"age"`
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
					keys = append(keys, s)
				}
			}
		}
		var out []string
		for _, k := range keys {
			if k = strings.TrimSpace(k); k != "" {
				out = append(out, k)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, nil
}
