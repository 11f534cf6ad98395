package sops

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Open decrypts the sops library's fixture for an edit; Seal writes the edited document encrypted
// again for the same recipient and rules, with a fresh or the same data key, and cac's reader
// decrypts it with a valid MAC.
func TestOpenSeal(t *testing.T) {
	data, key := fixture(t)
	keys, err := ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open("user/eu.yaml", data, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := "# user service, region eu\napp:\n    name: shop\ndb:\n    host: db.eu.internal # the primary\n    password: \"s3cr3t-fixture\"\napi:\n    token: \"tok-fixture-9Zq\"\n"
	if string(o.Plain) != want {
		t.Fatalf("plain:\n%s\nwant:\n%s", o.Plain, want)
	}
	if r := o.Recipients(); len(r) != 1 || r[0] != "age1fr39w4ashgemsgkg66thsv79f60xxcjl2mtcnfsfv46v8gm92gmqu25aj6" {
		t.Errorf("recipients %v", r)
	}
	edited := bytes.Replace(o.Plain, []byte(`"s3cr3t-fixture"`), []byte("n3w-pass"), 1)
	edited = append(edited, "extra:\n    token: t2\n    note: plain\n"...)
	for _, fresh := range []bool{true, false} {
		out, err := o.Seal("user/id.yaml", edited, fresh, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"n3w-pass", "s3cr3t-fixture", "tok-fixture", "t2\n"} {
			if strings.Contains(string(out), s) {
				t.Errorf("fresh=%v: the sealed file holds %q in plain text:\n%s", fresh, s, out)
			}
		}
		if !strings.Contains(string(out), "# the primary") || !strings.Contains(string(out), "note: plain") || !strings.Contains(string(out), "encrypted_regex: ^(password|token)$") {
			t.Errorf("fresh=%v: layout, plain values or rules lost:\n%s", fresh, out)
		}
		d, err := Decrypt("user/id.yaml", out, keys)
		if err != nil || len(d.Findings) != 0 {
			t.Fatalf("fresh=%v: decrypt: %v %v", fresh, err, d)
		}
		for _, s := range []string{`password: "n3w-pass"`, `token: "tok-fixture-9Zq"`, `token: "t2"`} {
			if !strings.Contains(string(d.Data), s) {
				t.Errorf("fresh=%v: decrypted lacks %q:\n%s", fresh, s, d.Data)
			}
		}
		o2, err := Open("user/id.yaml", out, keys)
		if err != nil {
			t.Fatal(err)
		}
		if same := bytes.Equal(o2.key, o.key); same == fresh {
			t.Errorf("fresh=%v: the data key was reused: %v", fresh, same)
		}
	}
	// no identity: a KeyError naming the recipient
	var kerr *KeyError
	if _, err := Open("user/eu.yaml", data, nil); !errors.As(err, &kerr) || len(kerr.Recipients) != 1 {
		t.Errorf("no identity: %v", err)
	}
	// a tampered file is refused
	bad := bytes.Replace(data, []byte("host: db.eu.internal"), []byte("host: db.evil"), 1)
	if _, err := Open("user/eu.yaml", bad, keys); err == nil || !strings.Contains(err.Error(), "MAC does not match") {
		t.Errorf("tampered: %v", err)
	}
	if IsEncrypted(o.Plain) || !IsEncrypted(data) {
		t.Error("IsEncrypted")
	}
}

func TestStripMetadata(t *testing.T) {
	for in, want := range map[string]string{
		"a: 1\nsops:\n    mac: x\n    age:\n        - r\n": "a: 1\n",
		"a: 1\nsops:\n  mac: x\n\n# tail\nb: 2\n":          "a: 1\n\n# tail\nb: 2\n",
		"sops: {mac: x}\na: 1\n":                           "a: 1\n",
		"a: 1\n":                                           "a: 1\n",
	} {
		if got := string(stripMetadata([]byte(in))); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
