// Package sops owns the SOPS v3 file format in cac: encrypting a Kubernetes Secret for publish,
// decrypting region files in memory, and encrypting single values in place (cac secret set).
//
// The format is written and read with filippo.io/age and crypto/aes instead of the sops packages:
// every sops package except sops/age imports the root package, which links the AWS, GCP, Azure,
// Vault and HuaweiCloud KMS clients (+30-44 MB per binary). Only age keys are supported; the
// test module test/sopsread checks this package against github.com/getsops/sops/v3.
//
// The format (getsops/sops sops.go, aes/cipher.go, stores/yaml): every encrypted leaf is
// ENC[AES256_GCM,data:…,iv:…,tag:…,type:…], sealed with the 256-bit data key, a 32-byte nonce and
// the leaf's key path joined by ":" plus a trailing ":" as additional data (list items use their
// list's path). The MAC is SHA-512 over the plaintext leaves in document order (comments and nulls
// excluded; with mac_only_encrypted only the encrypted leaves, after a fixed 32-byte prefix), as
// upper-case hex, sealed with the data key and the lastmodified time (RFC 3339) as additional data.
// The data key is age-encrypted (armored) once per recipient under sops.age.
package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Version is the SOPS file-format version written into the metadata. The format is the one
// github.com/getsops/sops/v3 v3.13.x reads; test/sopsread decrypts our output with that library.
const Version = "3.13.3"

// macOnlyEncryptedInit starts the MAC of a file with mac_only_encrypted (sops.go,
// MACOnlyEncryptedInitialization), so that it differs from a MAC over every value.
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// IsCiphertext reports whether s is a SOPS-encrypted value (ENC[AES256_GCM,...]).
func IsCiphertext(s string) bool { return encValue.MatchString(s) }

// errAuth is a value that does not decrypt with the data key and its key path: edited, copied
// from another file, or moved to another key.
var errAuth = errors.New("the value does not authenticate")

// dataKey is a file's 256-bit AES key.
type dataKey []byte

func newDataKey() (dataKey, error) {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

func (k dataKey) gcm() cipher.AEAD {
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err) // a data key always has 32 bytes
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 32)
	if err != nil {
		panic(err)
	}
	return gcm
}

// seal encrypts plain (of SOPS type typ: str, int, float, bool, time) with aad.
func (k dataKey) seal(plain, typ, aad string) (string, error) {
	iv := make([]byte, 32)
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	gcm := k.gcm()
	out := gcm.Seal(nil, iv, []byte(plain), []byte(aad))
	n := len(out) - gcm.Overhead()
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:%s]", b64(out[:n]), b64(iv), b64(out[n:]), typ), nil
}

// open decrypts an ENC[...] value, returning its plaintext and SOPS type.
func (k dataKey) open(value, aad string) (plain, typ string, err error) {
	m := encValue.FindStringSubmatch(value)
	if m == nil {
		return "", "", fmt.Errorf("not a sops value")
	}
	var parts [3][]byte
	for i := range parts {
		if parts[i], err = base64.StdEncoding.DecodeString(m[i+1]); err != nil {
			return "", "", errAuth
		}
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	if len(iv) != 32 {
		return "", "", errAuth
	}
	out, err := k.gcm().Open(nil, iv, append(append([]byte{}, data...), tag...), []byte(aad))
	if err != nil {
		return "", "", errAuth
	}
	return string(out), m[4], nil
}

// macBytes is what the MAC hashes for a value of SOPS type typ with text plain (sops.ToBytes of
// the value aes.Cipher.Decrypt returns): numbers and booleans in their canonical form.
func macBytes(plain, typ string) (string, error) {
	switch typ {
	case "str", "bytes":
		return plain, nil
	case "int":
		i, err := strconv.Atoi(plain)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(i), nil
	case "float":
		f, err := strconv.ParseFloat(plain, 64)
		if err != nil {
			return "", err
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case "bool":
		b, err := strconv.ParseBool(plain)
		if err != nil {
			return "", err
		}
		if b {
			return "True", nil
		}
		return "False", nil
	case "time":
		var t time.Time
		if err := t.UnmarshalText([]byte(plain)); err != nil {
			return "", err
		}
		b, err := t.MarshalText()
		return string(b), err
	}
	return "", fmt.Errorf("unknown sops value type %q", typ)
}

// macAAD is the additional data of the MAC: lastmodified as sops formats it.
func macAAD(lastModified string) (string, error) {
	t, err := time.Parse(time.RFC3339, lastModified)
	if err != nil {
		return "", fmt.Errorf("lastmodified %q: %w", lastModified, err)
	}
	return t.Format(time.RFC3339), nil
}
