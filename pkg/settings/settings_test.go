package settings

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, File)
	if got, err := Read(path, nil); err != nil || got != nil {
		t.Fatalf("missing file: %v, %v; want nil, nil", got, err)
	}
	if err := os.WriteFile(path, []byte("# project settings\nconfig-repo: https://git.example.com/cfg.git\nregions: [sg, us]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, []string{"usn", "config-repo", "regions"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Value{
		"config-repo": {Value: "https://git.example.com/cfg.git", Line: 2, Col: 14},
		"regions":     {Value: "sg,us", Line: 3, Col: 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	known := []string{"usn", "config-repo"}
	for _, tt := range []struct{ in, want string }{
		{"usn: user\nconfgi-repo: x\n", `.cac.yaml:2:1: unknown setting "confgi-repo"; settings are flag names: config-repo, usn`},
		{"- usn\n", ".cac.yaml:1: settings must be a mapping of flag names to values"},
		{"usn: {a: b}\n", `.cac.yaml:1:6: setting "usn" must be a value or a list`},
		{"usn: [\n", ".cac.yaml: yaml: line 1: did not find expected node content"},
	} {
		_, err := Parse([]byte(tt.in), known)
		if err == nil || err.Error() != tt.want || cacerr.ExitCode(err) != 2 {
			t.Errorf("%q: %v (exit %d), want %q (exit 2)", tt.in, err, cacerr.ExitCode(err), tt.want)
		}
	}
	if got, err := Parse([]byte("# only a comment\n"), known); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
}
