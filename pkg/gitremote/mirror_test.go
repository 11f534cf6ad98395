package gitremote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
)

// addFile commits name → content on the Mirror's tip (a root-level file) and returns the commit.
func addFile(t *testing.T, m *Mirror, name, content string) plumbing.Hash {
	t.Helper()
	s := m.Objects()
	blob := s.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, _ := blob.Writer()
	fmt.Fprint(w, content)
	w.Close()
	bh, err := s.SetEncodedObject(blob)
	if err != nil {
		t.Fatal(err)
	}
	tree := &object.Tree{}
	var parents []plumbing.Hash
	if !m.Tip.IsZero() {
		c, err := object.GetCommit(s, m.Tip)
		if err != nil {
			t.Fatal(err)
		}
		old, err := c.Tree()
		if err != nil {
			t.Fatal(err)
		}
		tree.Entries = append(tree.Entries, old.Entries...)
		parents = []plumbing.Hash{m.Tip}
	}
	tree.Entries = append(tree.Entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: bh})
	sort.Slice(tree.Entries, func(i, j int) bool { return tree.Entries[i].Name < tree.Entries[j].Name })
	to := s.NewEncodedObject()
	if err := tree.Encode(to); err != nil {
		t.Fatal(err)
	}
	th, _ := s.SetEncodedObject(to)
	sig := object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}
	co := s.NewEncodedObject()
	if err := (&object.Commit{Author: sig, Committer: sig, Message: "add " + name, TreeHash: th, ParentHashes: parents}).Encode(co); err != nil {
		t.Fatal(err)
	}
	ch, _ := s.SetEncodedObject(co)
	return ch
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// A cached Mirror fetches the repository once; afterwards a fetch and a push cost what changed,
// not the repository's size, and a push whose lease no longer holds is Rejected without changing
// the remote.
func TestMirrorCachedCostsWhatChanged(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{}
	for i := range 200 { // ~800 KiB of incompressible content
		b := make([]byte, 2048)
		rand.Read(b)
		files[fmt.Sprintf("d%02d/f%03d.txt", i%20, i)] = hex.EncodeToString(b)
	}
	bare := gitfixture.Bare(t, root, "r", map[string]map[string]string{"main": files}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	r := open(t, GitOpsRepo, srv.RepoURL("r.git"), Policy{})
	cache := t.TempDir()
	ctx := context.Background()

	mirror := func() *Mirror {
		t.Helper()
		m, err := r.Mirror(ctx, MirrorOptions{Branch: "main", Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := mirror()
	if m.Tip.String() != gitIn(t, bare, "rev-parse", "main") {
		t.Fatalf("tip %s", m.Tip)
	}
	c1 := addFile(t, m, "one.txt", "1\n")
	if err := m.PushCommit(ctx, "refs/heads/main", c1, m.Tip); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if got := gitIn(t, bare, "show", "main:one.txt"); got != "1" {
		t.Fatalf("one.txt = %q", got)
	}
	gitIn(t, bare, "fsck", "--strict")

	// The next Mirror finds its own push in the cache: nothing to fetch, a few bytes of ref
	// advertisement; its push sends only the new blob, tree and commit.
	sent := srv.BytesSent()
	m = mirror()
	if m.Tip != c1 {
		t.Fatalf("tip %s, want %s", m.Tip, c1)
	}
	c2 := addFile(t, m, "two.txt", "2\n")
	if err := m.PushCommit(ctx, "refs/heads/main", c2, m.Tip); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if n := srv.BytesSent() - sent; n > 20<<10 {
		t.Errorf("server sent %d bytes for a fetch and push on a cached %d-file repo", n, len(files))
	}
	gitIn(t, bare, "fsck", "--strict")

	// Another writer moves the branch: a push leased on the old tip is rejected and the remote
	// keeps the other writer's commit; the next Mirror fetches it incrementally.
	m = mirror()
	other := gitfixture.Commit(t, bare, "main", map[string]string{"other.txt": "o\n"}, "other writer")
	c3 := addFile(t, m, "three.txt", "3\n")
	err = m.PushCommit(ctx, "refs/heads/main", c3, m.Tip)
	m.Close()
	if ClassOf(err) != Rejected || !cacerr.Is(err, cacerr.KindRemote) {
		t.Fatalf("stale push: %v (class %d), want Rejected", err, ClassOf(err))
	}
	if got := gitIn(t, bare, "rev-parse", "main"); got != other.String() {
		t.Fatalf("remote main = %s, want the other writer's %s", got, other)
	}
	sent = srv.BytesSent()
	m = mirror()
	defer m.Close()
	if m.Tip != other {
		t.Fatalf("tip %s, want %s", m.Tip, other)
	}
	if n := srv.BytesSent() - sent; n > 20<<10 {
		t.Errorf("incremental fetch: server sent %d bytes", n)
	}
	c4 := addFile(t, m, "four.txt", "4\n")
	if err := m.PushCommit(ctx, "refs/heads/main", c4, m.Tip); err != nil {
		t.Fatal(err)
	}
	gitIn(t, bare, "fsck", "--strict")
	if got := gitIn(t, bare, "ls-tree", "--name-only", "main"); !strings.Contains(got, "other.txt") || !strings.Contains(got, "four.txt") || strings.Contains(got, "three.txt") {
		t.Fatalf("tree:\n%s", got)
	}
}

// An empty remote gives a Mirror without tip whose first push creates the branch; a branch the
// remote lacks, when it has others, is a usage error.
func TestMirrorEmptyAndMissingBranch(t *testing.T) {
	root := t.TempDir()
	bare := filepath.Join(root, "e.git")
	gitIn(t, root, "init", "-q", "--bare", "-b", "main", bare)
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	r := open(t, GitOpsRepo, srv.RepoURL("e.git"), Policy{})
	ctx := context.Background()
	for _, cache := range []string{"", t.TempDir()} {
		m, err := r.Mirror(ctx, MirrorOptions{Branch: "main", Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		if !m.Tip.IsZero() || m.Branch != "main" {
			t.Fatalf("empty repo: tip %s branch %q", m.Tip, m.Branch)
		}
		if cache == "" {
			m.Close()
			continue
		}
		c := addFile(t, m, "a.txt", "a\n")
		if err := m.PushCommit(ctx, "refs/heads/main", c, plumbing.ZeroHash); err != nil {
			t.Fatal(err)
		}
		m.Close()
		if got := gitIn(t, bare, "rev-parse", "main"); got != c.String() {
			t.Fatalf("main = %s, want %s", got, c)
		}
	}
	_, err = r.Mirror(ctx, MirrorOptions{Branch: "nope"})
	if !cacerr.Is(err, cacerr.KindUsage) || !IsNoBranch(err) || !strings.Contains(err.Error(), "has no branch nope") {
		t.Fatalf("missing branch: %v", err)
	}
}
