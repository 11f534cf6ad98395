package gitremote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
)

// serve starts a git server with one repository "r.git" (default branch main).
func serve(t *testing.T) (*gitserver.Server, string) {
	t.Helper()
	root := t.TempDir()
	gitfixture.Bare(t, root, "r", map[string]map[string]string{"main": {"a.yaml": "a: 1\n"}}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, srv.RepoURL("r.git")
}

func open(t *testing.T, role Role, url string, p Policy) *Remote {
	t.Helper()
	if p.Backoff == 0 {
		p.Backoff = time.Millisecond
	}
	r, err := Open(role, url, Options{Getenv: env(), Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A server that ends its ref advertisement mid-way (a cut pkt-line: "invalid pkt-len found", or
// a cut ref line) is retried like a dropped connection, and the checkout succeeds.
func TestCheckoutRetriesTruncatedAdvertisement(t *testing.T) {
	srv, url := serve(t)
	srv.Inject(gitserver.Fault{Truncate: 3}, gitserver.Fault{Truncate: 100})
	tree, err := open(t, ConfigRepo, url, Policy{Retries: 3}).Checkout(context.Background(), CheckoutOptions{Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	if tree.Attempts != 3 || readFile(t, tree.Dir+"/a.yaml") != "a: 1\n" {
		t.Errorf("attempts = %d, want 3 (two truncated answers, then the real one)", tree.Attempts)
	}

	// Without retries left, the message says what happened, naming the role.
	srv.Inject(gitserver.Fault{Truncate: 3}, gitserver.Fault{Truncate: 3})
	_, err = open(t, CodeRepo, url, Policy{Retries: 1}).Checkout(context.Background(), CheckoutOptions{Branch: "main"})
	want := fmt.Sprintf("fetch code repo %s (branch main): truncated or garbled answer after 2 attempts", url)
	if err == nil || err.Error() != want || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %v (exit %d)\nwant    %s", err, cacerr.ExitCode(err), want)
	}
}

func TestClassifyGarbled(t *testing.T) {
	for _, err := range []error{
		pktline.ErrInvalidPktLen,
		fmt.Errorf("pkt-line 2: %s", pktline.ErrInvalidPktLen), // go-git loses the chain
		errors.New("malformed ref data: no space was found"),
		plumbing.NewUnexpectedError(fmt.Errorf("read: %s", "unexpected EOF")),
	} {
		if c, _ := classify(err); c != Transient {
			t.Errorf("classify(%v) = %d, want transient", err, c)
		}
	}
}

// A server that accepts and never answers costs one operation at most its budget, however long
// each attempt may take; the error says the budget ran out and how many attempts were made.
func TestCheckoutBudget(t *testing.T) {
	srv, url := serve(t)
	for range 5 {
		srv.Inject(gitserver.Fault{Delay: time.Hour})
	}
	r := open(t, ConfigRepo, url, Policy{Retries: 3, Timeout: time.Hour, Budget: 200 * time.Millisecond})
	_, err := r.Checkout(context.Background(), CheckoutOptions{Branch: "main"})
	want := fmt.Sprintf("fetch config repo %s (branch main): the fetch budget of 200ms ran out after 1 attempt (last: ", url)
	if err == nil || !strings.HasPrefix(err.Error(), want) || cacerr.ExitCode(err) != 3 {
		t.Fatalf("error = %v (exit %d)\nwant prefix %s", err, cacerr.ExitCode(err), want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Attempts != 1 || e.Class != Transient || e.Role != ConfigRepo {
		t.Errorf("error details = %+v", e)
	}
	if srv.Requests() != 1 {
		t.Errorf("requests = %d, want 1", srv.Requests())
	}
}

func TestResolveAndClone(t *testing.T) {
	srv, url := serve(t)
	r := open(t, Standard, url, Policy{})
	h, name, err := r.Resolve(context.Background(), "")
	if err != nil || name != "refs/heads/main" || h.IsZero() {
		t.Fatalf("resolve default: %v %s %v", h, name, err)
	}
	if _, _, err := r.Resolve(context.Background(), "nope"); !IsNoBranch(err) || cacerr.ExitCode(err) != 2 {
		t.Errorf("resolve nope: %v", err)
	}
	repo, err := r.Clone(context.Background(), CloneOptions{Ref: plumbing.NewBranchReferenceName("main"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := repo.Head()
	if head.Hash() != h {
		t.Errorf("cloned %s, resolved %s", head.Hash(), h)
	}
	_, err = r.Clone(context.Background(), CloneOptions{Ref: plumbing.NewBranchReferenceName("nope")})
	if !IsNoBranch(err) || !strings.Contains(err.Error(), "standard "+url+" has no branch nope") {
		t.Errorf("clone nope: %v", err)
	}
	srv.Inject(gitserver.Fault{Status: 503}, gitserver.Fault{Status: 503})
	_, err = open(t, GitOpsRepo, url, Policy{Retries: 1}).Clone(context.Background(), CloneOptions{})
	if want := "clone GitOps repo " + url + " (default branch): server answered 503 after 2 attempts"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}
