package report

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func TestParseFormat(t *testing.T) {
	for _, name := range Formats {
		got, err := ParseFormat(strings.ToUpper(name))
		if err != nil || got != name {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", strings.ToUpper(name), got, err, name)
		}
		if writers[name] == nil {
			t.Errorf("format %q has no writer", name)
		}
	}
	if len(writers) != len(Formats) {
		t.Errorf("writers has %d formats, Formats lists %d", len(writers), len(Formats))
	}
	_, err := ParseFormat("xml")
	if cacerr.ExitCode(err) != 2 {
		t.Fatalf("ParseFormat(xml) exit code = %d, want 2 (usage)", cacerr.ExitCode(err))
	}
	want := `unknown output format "xml": valid formats are text, json, junit, github, gitlab, sarif`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}

func TestWriteKeepsCallerOrder(t *testing.T) {
	fs := sample()
	before := append([]Finding(nil), fs...)
	for _, name := range Formats {
		render(t, name, fs, Options{})
	}
	if !reflect.DeepEqual(fs, before) {
		t.Error("Write reordered the caller's slice")
	}
}

func TestColorEnabled(t *testing.T) {
	regular, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0) // a character device, like a terminal
	if err != nil {
		t.Skip("no /dev/null:", err)
	}
	defer tty.Close()
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name string
		f    *os.File
		env  func(string) string
		want bool
	}{
		{"terminal", tty, env("TERM", "xterm"), true},
		{"regular file", regular, env(), false},
		{"nil file", nil, env(), false},
		{"NO_COLOR set", tty, env("NO_COLOR", "1"), false},
		{"NO_COLOR empty", tty, env("NO_COLOR", ""), true},
		{"dumb terminal", tty, env("TERM", "dumb"), false},
	}
	for _, tt := range tests {
		if got := ColorEnabled(tt.f, tt.env); got != tt.want {
			t.Errorf("%s: ColorEnabled = %v, want %v", tt.name, got, tt.want)
		}
	}
}
