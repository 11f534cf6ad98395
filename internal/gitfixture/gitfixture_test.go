package gitfixture

import (
	"os/exec"
	"strings"
	"testing"
)

// gitOut runs the real git binary against the bare repository, so the fixture is proven to be a
// repository git itself accepts.
func gitOut(t *testing.T, bare string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", bare}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestBareAndCommit(t *testing.T) {
	bare := Bare(t, t.TempDir(), "cfg", map[string]map[string]string{
		"trunk":     {"svc/eu.yaml": "a: 1\n", "_global/eu.yaml": "g: 1\n", "README": "hi\n"},
		"feature-x": {"svc/eu.yaml": "a: 2\n"},
	}, "trunk")

	if got := strings.TrimSpace(gitOut(t, bare, "symbolic-ref", "HEAD")); got != "refs/heads/trunk" {
		t.Errorf("HEAD = %q, want refs/heads/trunk", got)
	}
	gitOut(t, bare, "fsck", "--strict")
	if got := gitOut(t, bare, "ls-tree", "-r", "--name-only", "trunk"); got != "README\n_global/eu.yaml\nsvc/eu.yaml\n" {
		t.Errorf("trunk files = %q", got)
	}
	if got := gitOut(t, bare, "show", "feature-x:svc/eu.yaml"); got != "a: 2\n" {
		t.Errorf("feature-x svc/eu.yaml = %q", got)
	}

	h := Commit(t, bare, "trunk", map[string]string{"svc/us.yaml": "a: 3\n", "svc/eu.yaml": "a: 9\n"}, "add us")
	if got := strings.TrimSpace(gitOut(t, bare, "rev-parse", "trunk")); got != h.String() {
		t.Errorf("trunk = %s, Commit returned %s", got, h)
	}
	if got := gitOut(t, bare, "log", "--format=%s", "trunk"); got != "add us\nconfig for trunk\n" {
		t.Errorf("trunk log = %q", got)
	}
	if got := gitOut(t, bare, "ls-tree", "-r", "--name-only", "trunk"); got != "README\n_global/eu.yaml\nsvc/eu.yaml\nsvc/us.yaml\n" {
		t.Errorf("trunk files after commit = %q", got)
	}
	if got := gitOut(t, bare, "show", "trunk:svc/eu.yaml"); got != "a: 9\n" {
		t.Errorf("replaced file = %q", got)
	}

	Commit(t, bare, "new", map[string]string{"x.yaml": "x: 1\n"}, "start new")
	if got := gitOut(t, bare, "log", "--format=%s", "new"); got != "start new\n" {
		t.Errorf("new branch log = %q", got)
	}
	gitOut(t, bare, "fsck", "--strict")
}

func TestBareDeterministic(t *testing.T) {
	branches := map[string]map[string]string{"main": {"a/b/c.yaml": "c: 1\n"}}
	a := gitOut(t, Bare(t, t.TempDir(), "r", branches, "main"), "rev-parse", "main")
	b := gitOut(t, Bare(t, t.TempDir(), "r", branches, "main"), "rev-parse", "main")
	if a != b {
		t.Errorf("same input, different commits: %s vs %s", a, b)
	}
}

func TestBareEErrors(t *testing.T) {
	if _, err := BareE(t.TempDir(), "r", map[string]map[string]string{"main": {}}, "trunk"); err == nil {
		t.Error("default branch missing: want error")
	}
	if _, err := BareE(t.TempDir(), "r", map[string]map[string]string{"main": {"a": "1", "a/b": "2"}}, "main"); err == nil {
		t.Error("a file and a directory with one name: want error")
	}
}
