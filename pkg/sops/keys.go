package sops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Environment variables sops reads its age identities from (age/keysource.go).
const (
	EnvAgeKey     = "SOPS_AGE_KEY"      // one or more AGE-SECRET-KEY-1… (any whitespace between)
	EnvAgeKeyFile = "SOPS_AGE_KEY_FILE" // a file of identities, one a line, # comments
)

// userKeysPath is sops' default identity file below the user config directory.
const userKeysPath = "sops/age/keys.txt"

// Keys are the age identities cac decrypts with, and where they were read from.
type Keys struct {
	ids     []age.Identity
	sources []string
}

// Empty reports whether no identity was found.
func (k *Keys) Empty() bool { return k == nil || len(k.ids) == 0 }

// Where lists where identities were looked for, for error messages.
func (k *Keys) Where() string {
	return strings.Join(k.sources, ", ")
}

// ParseKeys reads identities from text (AGE-SECRET-KEY-1… words; lines starting with # are
// comments), as SOPS_AGE_KEY holds them.
func ParseKeys(text string) (*Keys, error) {
	ids, err := parseIdentities(strings.NewReader(text), true)
	if err != nil {
		return nil, err
	}
	return &Keys{ids: ids, sources: []string{EnvAgeKey}}, nil
}

// KeysFromEnv loads the identities sops would use: SOPS_AGE_KEY, the file SOPS_AGE_KEY_FILE names,
// and <user config dir>/sops/age/keys.txt (XDG_CONFIG_HOME first on macOS, as sops does). No
// identity at all is not an error (Keys.Empty); a malformed one is. SOPS_AGE_KEY_CMD and SSH keys
// are not supported.
func KeysFromEnv(getenv func(string) string) (*Keys, error) {
	k := &Keys{sources: []string{EnvAgeKey, EnvAgeKeyFile}}
	if s := getenv(EnvAgeKey); s != "" {
		ids, err := parseIdentities(strings.NewReader(s), true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvAgeKey, err)
		}
		k.ids = append(k.ids, ids...)
	}
	if f := getenv(EnvAgeKeyFile); f != "" {
		ids, err := readIdentityFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvAgeKeyFile, err)
		}
		k.ids = append(k.ids, ids...)
	}
	if dir := userConfigDir(getenv); dir != "" {
		p := filepath.Join(dir, filepath.FromSlash(userKeysPath))
		k.sources = append(k.sources, p)
		ids, err := readIdentityFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		k.ids = append(k.ids, ids...)
	}
	return k, nil
}

// userConfigDir is os.UserConfigDir read through getenv (XDG_CONFIG_HOME wins on macOS too, as in
// sops); "" when it cannot be told.
func userConfigDir(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && runtime.GOOS != "windows" {
		return d
	}
	home := getenv("HOME")
	switch {
	case runtime.GOOS == "windows":
		return getenv("AppData")
	case home == "":
		return ""
	case runtime.GOOS == "darwin" || runtime.GOOS == "ios":
		return filepath.Join(home, "Library", "Application Support")
	}
	return filepath.Join(home, ".config")
}

func readIdentityFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids, err := parseIdentities(f, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// parseIdentities reads one identity a line (or, with words, any number a line); empty lines and
// lines starting with # are skipped. Errors never quote the key text.
func parseIdentities(r io.Reader, words bool) ([]age.Identity, error) {
	var ids []age.Identity
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := []string{line}
		if words {
			fields = strings.Fields(line)
		}
		for _, f := range fields {
			id, err := parseIdentity(f)
			if err != nil {
				return nil, fmt.Errorf("line %d: not an age identity (AGE-SECRET-KEY-1…)", n)
			}
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}

func parseIdentity(s string) (age.Identity, error) {
	if strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1") {
		return age.ParseHybridIdentity(s)
	}
	return age.ParseX25519Identity(s)
}

// parseRecipient reads an age public key (X25519 age1…, or hybrid post-quantum age1pq1…).
func parseRecipient(s string) (age.Recipient, error) {
	if strings.HasPrefix(s, "age1pq1") {
		return age.ParseHybridRecipient(s)
	}
	return age.ParseX25519Recipient(s)
}

// wrapKey encrypts the data key for one age recipient, armored, as sops stores it.
func wrapKey(key dataKey, recipient string) (string, error) {
	r, err := parseRecipient(recipient)
	if err != nil {
		return "", fmt.Errorf("parse age recipient %q: %w", recipient, err)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", fmt.Errorf("wrap data key for age recipient: %w", err)
	}
	if _, err := w.Write(key); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := aw.Close(); err != nil {
		return "", err
	}
	return buf.String() + "\n", nil
}

// unwrapKey decrypts an armored age-encrypted data key with the identities.
func (k *Keys) unwrapKey(enc string) (dataKey, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), k.ids...)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("the data key has %d bytes, want 32", len(b))
	}
	return b, nil
}
