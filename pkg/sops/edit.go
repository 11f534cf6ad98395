package sops

import (
	"bytes"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

// IsEncrypted reports whether data is a SOPS-encrypted YAML file (a top-level sops: mapping
// holding a mac).
func IsEncrypted(data []byte) bool {
	_, ok, _ := parse("", data)
	return ok
}

// Opened is a SOPS file decrypted in memory so that a command can edit it and write it (or a copy
// of it) encrypted again: env copy and region new (docs/design.md §6).
type Opened struct {
	// Plain is the document with every value decrypted in place and without the sops: metadata.
	Plain      []byte
	name       string
	key        dataKey
	recipients []string
	rules      Rules
	otherKeys  []string
}

// Open decrypts a SOPS file (IsEncrypted) with the identities and checks its MAC. No usable
// identity is a *KeyError (exit 2); a tampered file is a usage error naming the first problem.
func Open(name string, data []byte, keys *Keys) (*Opened, error) {
	f, ok, err := parse(name, data)
	if err != nil {
		return nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	if !ok {
		return nil, cacerr.Usage("%s is not a sops file", name)
	}
	key, err := f.dataKey(keys)
	if err != nil {
		return nil, err
	}
	d, err := f.decrypt(key)
	if err != nil {
		return nil, err
	}
	if len(d.Findings) > 0 {
		return nil, cacerr.Usage("%s: %s; fix the file first", d.Findings[0].Pos, d.Findings[0].Message)
	}
	var rules Rules
	if err := f.meta.Decode(&rules); err != nil {
		return nil, cacerr.Usage("%s: sops metadata: %w", name, err)
	}
	return &Opened{Plain: stripMetadata(d.Data), name: name, key: key, recipients: f.recipients(), rules: rules, otherKeys: f.otherKey}, nil
}

// Recipients are the age recipients the file is encrypted for.
func (o *Opened) Recipients() []string { return append([]string(nil), o.recipients...) }

// Seal encrypts plain (Plain, edited) as the SOPS file name for the same age recipients under the
// same rules (encrypted_regex …, mac_only_encrypted), with a new MAC. freshKey draws a new data key,
// as a new file should have; otherwise the file keeps its data key (an edit in place). Comments and
// layout stay; the values the rules select are sealed with their key paths.
func (o *Opened) Seal(name string, plain []byte, freshKey bool, now time.Time) ([]byte, error) {
	if len(o.otherKeys) > 0 {
		return nil, cacerr.Usage("%s is also encrypted for %s keys, which cac cannot encrypt for: edit it with sops", o.name, strings.Join(o.otherKeys, ", "))
	}
	if _, ok, _ := parse(name, plain); ok {
		return nil, cacerr.Usage("%s: the document to encrypt already holds sops metadata", name)
	}
	key := o.key
	if freshKey {
		var err error
		if key, err = newDataKey(); err != nil {
			return nil, err
		}
	}
	return sealPlain(name, plain, key, o.recipients, o.rules, now, nil)
}

// stripMetadata removes the top-level sops: entry from the text of a YAML document: the line of
// its key and the lines after it that are blank or indented.
func stripMetadata(data []byte) []byte {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data
	}
	root := doc.Content[0]
	var keyNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == MetadataKey {
			keyNode = root.Content[i]
		}
	}
	if keyNode == nil {
		return data
	}
	starts := lineStarts(data)
	first := keyNode.Line // 1-based
	last := first
	for l := first + 1; l <= len(starts); l++ {
		text := data[starts[l-1]:lineEndAt(data, starts, l)]
		if len(bytes.TrimSpace(text)) > 0 && text[0] != ' ' && text[0] != '\t' {
			break
		}
		last = l
	}
	// keep the blank lines that end the block
	for last > first && len(bytes.TrimSpace(data[starts[last-1]:lineEndAt(data, starts, last)])) == 0 {
		last--
	}
	end := len(data)
	if last < len(starts) {
		end = starts[last]
	}
	return append(append([]byte{}, data[:starts[first-1]]...), data[end:]...)
}

// Encrypts reports whether Seal encrypts the value at path (the file's rules select it).
func (o *Opened) Encrypts(path []string) bool {
	enc, err := o.rules.encrypted(path)
	return err == nil && enc
}
