package sops

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
)

// Rules of the findings about tampered files.
const (
	RuleMAC   = "sops/mac"   // the file's MAC does not match its values
	RuleValue = "sops/value" // an encrypted value does not authenticate
)

// KeyError is a SOPS file that no available age identity can decrypt (exit 2).
type KeyError struct {
	File       string
	Recipients []string // the age recipients the file is encrypted for
	OtherKeys  []string // master keys of kinds cac does not support (kms, pgp ...)
	NoIdentity bool     // no identity was found at all
	Where      string   // where identities were looked for
}

func (e *KeyError) Error() string {
	if len(e.Recipients) == 0 {
		return fmt.Sprintf("cannot decrypt %s: it is encrypted with sops for %s keys only, and cac decrypts with age keys only; add an age recipient to the file (age: in .sops.yaml, then sops updatekeys)",
			e.File, strings.Join(e.OtherKeys, ", "))
	}
	if e.NoIdentity {
		return fmt.Sprintf("cannot decrypt %s: no age identity found (looked in %s); it is encrypted for %s: set %s (or %s) to the identity of one of them",
			e.File, e.Where, strings.Join(e.Recipients, ", "), EnvAgeKeyFile, EnvAgeKey)
	}
	return fmt.Sprintf("cannot decrypt %s: none of the age identities found (in %s) is one of its recipients %s",
		e.File, e.Where, strings.Join(e.Recipients, ", "))
}

// Decrypted is a region file with its encrypted values replaced by their plaintext.
type Decrypted struct {
	Data      []byte       // the file, every ENC[...] value replaced in place (same lines)
	Encrypted []report.Pos // where the values that were encrypted start in Data
	Findings  []report.Finding
	SOPS      bool // the file is SOPS-encrypted
}

// Decrypt decrypts a SOPS-encrypted YAML file in memory; a file without sops metadata comes back
// unchanged. Every encrypted value is replaced textually where it stands, so lines and the columns
// before it stay as they were; the MAC is verified. A value that does not authenticate and a MAC
// mismatch are findings (RuleValue, RuleMAC); no usable identity is a *KeyError (exit 2).
func Decrypt(name string, data []byte, keys *Keys) (*Decrypted, error) {
	f, ok, err := parse(name, data)
	if err != nil {
		return nil, cacerr.Wrap(cacerr.KindUsage, err)
	}
	if !ok {
		return &Decrypted{Data: data}, nil
	}
	key, err := f.dataKey(keys)
	if err != nil {
		return nil, err
	}
	return f.decrypt(key)
}

// dataKey unwraps the file's data key with the identities.
func (f *file) dataKey(keys *Keys) (dataKey, error) {
	kerr := &KeyError{File: f.name, Recipients: f.recipients(), OtherKeys: f.otherKey, NoIdentity: keys.Empty()}
	if keys != nil {
		kerr.Where = keys.Where()
	}
	if len(f.md.Age) == 0 || keys.Empty() {
		return nil, cacerr.Wrap(cacerr.KindUsage, kerr)
	}
	for _, a := range f.md.Age {
		if k, err := keys.unwrapKey(a.Enc); err == nil {
			return k, nil
		}
	}
	return nil, cacerr.Wrap(cacerr.KindUsage, kerr)
}

func (f *file) decrypt(key dataKey) (*Decrypted, error) {
	out := &Decrypted{SOPS: true}
	mac := newMAC(f.md.MACOnlyEncrypted)
	starts := lineStarts(f.data)
	var reps []replacement
	var decrypted []int // indexes into ls of the values replaced
	var failed []int
	seen := map[*yaml.Node]bool{}
	ls := leaves(f.root)
	for i, l := range ls {
		if !IsCiphertext(l.node.Value) {
			if f.md.MACOnlyEncrypted {
				continue
			}
			_, b, err := typedValue(l.node)
			if err != nil {
				return nil, cacerr.Usage("%s:%d:%d: %w", f.name, l.node.Line, l.node.Column, err)
			}
			mac.Write([]byte(b))
			continue
		}
		plain, typ, err := key.open(l.node.Value, l.aad())
		if err != nil {
			failed = append(failed, i)
			continue
		}
		b, err := macBytes(plain, typ)
		if err != nil {
			failed = append(failed, i)
			continue
		}
		mac.Write([]byte(b))
		if seen[l.node] {
			continue
		}
		seen[l.node] = true
		start, end, ok := span(f.data, starts, l.node)
		if !ok {
			return nil, cacerr.Usage("%s:%d:%d: cannot locate the encrypted value in the text", f.name, l.node.Line, l.node.Column)
		}
		reps = append(reps, replacement{start, end, scalarText(plain, typ)})
		decrypted = append(decrypted, i)
	}
	sort.Slice(reps, func(a, b int) bool { return reps[a].start < reps[b].start })
	out.Data = apply(f.data, reps)

	// Positions in the decrypted text: the same tree with other scalars.
	var doc yaml.Node
	if err := yaml.Unmarshal(out.Data, &doc); err != nil {
		return nil, cacerr.Usage("%s: decrypted values do not form valid YAML: %w", f.name, err)
	}
	outLeaves := leaves(doc.Content[0])
	if len(outLeaves) != len(ls) {
		return nil, cacerr.Usage("%s: decrypted values changed the structure of the file", f.name)
	}
	pos := func(i int) report.Pos {
		return report.Pos{File: f.name, Line: outLeaves[i].node.Line, Col: outLeaves[i].node.Column}
	}
	for _, i := range decrypted {
		out.Encrypted = append(out.Encrypted, pos(i))
	}
	for _, i := range failed {
		out.Findings = append(out.Findings, report.Finding{Pos: pos(i), Path: strings.Join(ls[i].path, "."), Rule: RuleValue, Severity: report.SeverityError,
			Message: "this encrypted value does not decrypt with the file's data key at this key: it was edited, or copied from another file or key; set it again with cac secret set"})
	}
	if len(failed) == 0 {
		if err := f.checkMAC(key, mac.Sum(nil)); err != nil {
			macPos := report.Pos{File: f.name}
			if m := field(doc.Content[0], MetadataKey); m != nil {
				if n := field(m, "mac"); n != nil {
					macPos.Line, macPos.Col = n.Line, n.Column
				}
			}
			out.Findings = append(out.Findings, report.Finding{Pos: macPos, Path: MetadataKey + ".mac", Rule: RuleMAC, Severity: report.SeverityError,
				Message: "the file's MAC does not match its values (" + err.Error() + "): it was changed without sops; restore it from git, or re-encrypt it with sops (or cac secret set)"})
		}
	}
	return out, nil
}

var errMACMismatch = errors.New("MAC mismatch")

// checkMAC compares the MAC of the values with the one stored in the metadata.
func (f *file) checkMAC(key dataKey, sum []byte) error {
	aad, err := macAAD(f.md.LastModified)
	if err != nil {
		return err
	}
	stored, _, err := key.open(f.md.MAC, aad)
	if err != nil {
		return fmt.Errorf("the stored MAC does not decrypt")
	}
	if stored != fmt.Sprintf("%X", sum) {
		return errMACMismatch
	}
	return nil
}

// scalarText writes a decrypted value as a YAML scalar on one line: strings double-quoted (Go's
// escapes are YAML's), numbers and booleans plain.
func scalarText(plain, typ string) string {
	switch typ {
	case "int":
		if i, err := strconv.Atoi(plain); err == nil {
			return strconv.Itoa(i)
		}
	case "float":
		if f, err := strconv.ParseFloat(plain, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			// a plain float literal (1.0, not 1, which reads as an int): no tag, so that
			// encrypting the text again replaces the whole value
			t := strconv.FormatFloat(f, 'f', -1, 64)
			if !strings.ContainsAny(t, ".e") {
				t += ".0"
			}
			return t
		}
	case "bool":
		if b, err := strconv.ParseBool(plain); err == nil {
			return strconv.FormatBool(b)
		}
	case "time":
		return plain
	}
	return strconv.Quote(plain)
}

// FS reads a config repo, decrypting SOPS-encrypted region files in memory for pkg/values (it
// implements values.Decrypter). Files read through Open stay as they are on disk.
type FS struct {
	fsys fs.FS
	keys *Keys
	keep bool
}

// NewFS wraps fsys. With keepEncrypted, a SOPS file is returned unchanged when no identity at all
// is available (its values stay ciphertext, which pkg/values marks): cac diff in a pipeline that
// holds no key. A wrong identity is an error either way.
func NewFS(fsys fs.FS, keys *Keys, keepEncrypted bool) *FS {
	return &FS{fsys: fsys, keys: keys, keep: keepEncrypted}
}

// Open opens a file of the underlying file system.
func (f *FS) Open(name string) (fs.File, error) { return f.fsys.Open(name) }

// Decrypt decrypts one region file's data (see Decrypt).
func (f *FS) Decrypt(name string, data []byte) ([]byte, []report.Pos, []report.Finding, error) {
	if f.keep && f.keys.Empty() {
		return data, nil, nil, nil
	}
	d, err := Decrypt(name, data, f.keys)
	if err != nil {
		return nil, nil, nil, err
	}
	return d.Data, d.Encrypted, d.Findings, nil
}
