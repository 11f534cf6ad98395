package gitserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func gitFails(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("git %v succeeded, want failure:\n%s", args, out)
	}
	return string(out)
}

func TestCloneAndPushWithToken(t *testing.T) {
	root := t.TempDir()
	git(t, root, "init", "-q", "--bare", "-b", "main", "cfg.git")
	s, err := Start(root, Options{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	work := t.TempDir()
	authURL := strings.Replace(s.RepoURL("cfg.git"), "http://", "http://x:s3cret@", 1)
	git(t, work, "clone", "-q", authURL, "c")
	c := filepath.Join(work, "c")
	if err := os.WriteFile(filepath.Join(c, "a.yaml"), []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, c, "add", ".")
	git(t, c, "commit", "-qm", "first")
	git(t, c, "push", "-q", "origin", "HEAD:main")

	if out := git(t, root, "--git-dir", "cfg.git", "log", "--oneline", "main"); !strings.Contains(out, "first") {
		t.Fatalf("pushed commit missing on server: %q", out)
	}
	badURL := strings.Replace(s.RepoURL("cfg.git"), "http://", "http://x:wrong@", 1)
	if out := gitFails(t, work, "ls-remote", badURL); !strings.Contains(out, "Authentication failed") && !strings.Contains(out, "401") {
		t.Fatalf("wrong token: unexpected error %q", out)
	}
}

func TestInjectedFaults(t *testing.T) {
	root := t.TempDir()
	git(t, root, "init", "-q", "--bare", "-b", "main", "r.git")
	s, err := Start(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Inject(Fault{Status: 500})
	if out := gitFails(t, root, "ls-remote", s.RepoURL("r.git")); !strings.Contains(out, "500") {
		t.Fatalf("want a 500, got %q", out)
	}
	git(t, root, "ls-remote", s.RepoURL("r.git")) // the fault is used up
	if s.Requests() < 2 {
		t.Fatalf("requests = %d", s.Requests())
	}
}

func TestBytesSent(t *testing.T) {
	root := t.TempDir()
	git(t, root, "init", "-q", "--bare", "-b", "main", "r.git")
	s, err := Start(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.BytesSent() != 0 {
		t.Fatalf("BytesSent before any request = %d", s.BytesSent())
	}
	git(t, root, "ls-remote", s.RepoURL("r.git"))
	if s.BytesSent() < 100 {
		t.Fatalf("BytesSent after ls-remote = %d, want a ref advertisement with headers", s.BytesSent())
	}
}
