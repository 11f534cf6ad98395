package diff

import (
	"strings"
	"testing"
)

// TestSecretsNeverShown renders the fixture in every format and looks for the secret values.
func TestSecretsNeverShown(t *testing.T) {
	r := fixtureResult()
	var outputs []string
	var sb strings.Builder
	for _, color := range []bool{false, true} {
		sb.Reset()
		if err := WriteText(&sb, r, color); err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, sb.String())
	}
	sb.Reset()
	if err := WriteJSON(&sb, r); err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, sb.String())
	outputs = append(outputs, Markdown(r, MarkdownOptions{USN: "svc", MarkerLine: svcMarker})...)
	outputs = append(outputs, Markdown(r, MarkdownOptions{USN: "svc", MarkerLine: svcMarker, Limit: 2048, MaxParts: 2})...)
	for i, out := range outputs {
		for _, s := range []string{oldPassword, newPassword, apiKey} {
			if strings.Contains(out, s) {
				t.Errorf("output %d shows secret %q", i, s)
			}
		}
	}
	text := outputs[0]
	for _, want := range []string{
		`-password = "<secret mysql.main.password>"`,
		`+password = "<secret mysql.main.password: changed>"`,
		` api_key = "<secret extend.apiKey>"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text diff lacks %q", want)
		}
	}
}

func TestSecretMasking(t *testing.T) {
	tests := []struct {
		name      string
		secrets   []Secret
		base      string
		head      string
		changed   bool
		wantLines []string
	}{
		{
			name:    "unchanged secret in an unchanged line is no change",
			secrets: []Secret{{Path: "p", Base: "pw", Head: "pw"}},
			base:    "a=pw\n", head: "a=pw\n",
		},
		{
			name:    "a changed secret shows as changed without a value",
			secrets: []Secret{{Path: "p", Base: "pw1", Head: "pw2"}},
			base:    "a=pw1\n", head: "a=pw2\n", changed: true,
			wantLines: []string{"-a=<secret p>", "+a=<secret p: changed>"},
		},
		{
			name: "a secret inside a longer secret is masked as the longer one",
			secrets: []Secret{
				{Path: "short", Base: "abc", Head: "abc"},
				{Path: "long", Base: "xxabcxx", Head: "yyabcyy"},
			},
			base: "k=xxabcxx\nj=abc\n", head: "k=yyabcyy\nj=abc\n", changed: true,
			wantLines: []string{"-k=<secret long>", "+k=<secret long: changed>", " j=<secret short>"},
		},
		{
			name:    "the old value left on the head side is masked too",
			secrets: []Secret{{Path: "p", Base: "old", Head: "new"}},
			base:    "a=old\n", head: "a=new\nb=old\n", changed: true,
			wantLines: []string{"+a=<secret p: changed>", "+b=<secret p>"},
		},
		{
			name:    "a multi-line secret (a key) is masked whole",
			secrets: []Secret{{Path: "tls.key", Base: "-----BEGIN\nAAA\n-----END", Head: "-----BEGIN\nBBB\n-----END"}},
			base:    "key: |\n-----BEGIN\nAAA\n-----END\n", head: "key: |\n-----BEGIN\nBBB\n-----END\n", changed: true,
			wantLines: []string{"-<secret tls.key>", "+<secret tls.key: changed>"},
		},
		{
			name:    "an empty secret masks nothing",
			secrets: []Secret{{Path: "p"}},
			base:    "a=1\n", head: "a=2\n", changed: true,
			wantLines: []string{"-a=1", "+a=2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Compute(Tree{"eu": {"f": []byte(tt.base)}}, Tree{"eu": {"f": []byte(tt.head)}}, Options{Secrets: tt.secrets})
			if r.Changed() != tt.changed {
				t.Fatalf("Changed() = %v, want %v", r.Changed(), tt.changed)
			}
			if !tt.changed {
				return
			}
			u := r.Regions[0].Files[0].Unified
			for _, l := range tt.wantLines {
				if !strings.Contains(u, l+"\n") {
					t.Errorf("diff lacks line %q:\n%s", l, u)
				}
			}
			for _, s := range tt.secrets {
				for _, v := range []string{s.Base, s.Head} {
					if v != "" && strings.Contains(u, v) {
						t.Errorf("diff shows secret %q:\n%s", v, u)
					}
				}
			}
		})
	}
}

// TestSecretRegionPairing: sg's secret is rotated to the value us already has; us's line is
// unchanged and must read so, with its own token, not sg's.
func TestSecretRegionPairing(t *testing.T) {
	secrets := []Secret{
		{Path: "sg:pw", Region: "sg", Base: "old-sg", Head: "cur-us"},
		{Path: "us:pw", Region: "us", Base: "cur-us", Head: "cur-us"},
	}
	base := Tree{"sg": {"a": []byte("pw=old-sg\n")}, "us": {"a": []byte("pw=cur-us\nx=1\n")}}
	head := Tree{"sg": {"a": []byte("pw=cur-us\n")}, "us": {"a": []byte("pw=cur-us\nx=2\n")}}
	r := Compute(base, head, Options{Secrets: secrets})
	want := map[string]string{
		"sg": "@@ -1 +1 @@\n-pw=<secret sg:pw>\n+pw=<secret sg:pw: changed>\n",
		"us": "@@ -1,2 +1,2 @@\n pw=<secret us:pw>\n-x=1\n+x=2\n",
	}
	if len(r.Regions) != 2 {
		t.Fatalf("regions: %+v", r.Regions)
	}
	for _, reg := range r.Regions {
		if got := reg.Files[0].Unified; got != want[reg.Name] {
			t.Errorf("%s:\n%s\nwant:\n%s", reg.Name, got, want[reg.Name])
		}
	}
}
