// Package gitremote owns every remote git operation of cac: cloning and shallow single-branch
// fetches, incremental fetches into a cache directory, pushes with a lease, listing a remote's
// refs and its default branch (docs/design.md §1, §3, §6). It picks the credentials for each
// forge, bounds each attempt and the whole operation in time, retries transient failures with
// jittered backoff, and scrubs credentials out of every error. Every error names the repository
// by the Role the caller gave, so a message reads "fetch code repo https://...: ...".
//
//	r, err := gitremote.Open(gitremote.GitOpsRepo, url, gitremote.Options{Getenv: os.Getenv})
//	if err != nil {
//		return err // cacerr kind 2: a bad address or missing credentials
//	}
//	repo, err := r.Clone(ctx, gitremote.CloneOptions{Branch: "main", Depth: 1})
//
// No other package imports go-git's transport packages.
package gitremote

import (
	"errors"
	"fmt"
	"time"
)

// Role says which repository a remote is to cac; errors name it.
type Role string

// The repositories cac talks to.
const (
	ConfigRepo Role = "config repo"
	CodeRepo   Role = "code repo"
	GitOpsRepo Role = "GitOps repo"
	Standard   Role = "standard"
	Registry   Role = "service registry"
)

func (r Role) String() string { return string(r) }

// Policy bounds a remote operation in time and says how often it is retried.
type Policy struct {
	// Retries is how many times a transient failure is retried: 0 means 3, negative means none.
	Retries int
	// Backoff is the first wait between attempts, doubled after each (with jitter); 0 means 500ms.
	Backoff time.Duration
	// Timeout limits each attempt (a stalled server is retried like a failing one); 0 means
	// DefaultTimeout, negative means none.
	Timeout time.Duration
	// Budget limits one operation, all its attempts and waits together; 0 means DefaultBudget,
	// negative means none.
	Budget time.Duration
}

const (
	// DefaultTimeout bounds one attempt when Policy.Timeout is 0.
	DefaultTimeout = 30 * time.Second
	// DefaultBudget bounds one operation, across attempts, when Policy.Budget is 0: a server
	// that accepts connections and never answers costs a build at most this long.
	DefaultBudget = 60 * time.Second
	// ConnectTimeout bounds opening a connection (TCP and TLS) to an http(s) git server.
	ConnectTimeout = 10 * time.Second
)

func (p Policy) normal() Policy {
	switch {
	case p.Retries == 0:
		p.Retries = 3
	case p.Retries < 0:
		p.Retries = 0
	}
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	switch {
	case p.Timeout == 0:
		p.Timeout = DefaultTimeout
	case p.Timeout < 0:
		p.Timeout = 0
	}
	switch {
	case p.Budget == 0:
		p.Budget = DefaultBudget
	case p.Budget < 0:
		p.Budget = 0
	}
	return p
}

// Class says what a failed remote operation means for the caller.
type Class int

const (
	Permanent Class = iota // anything else: not retried
	Transient              // network trouble, a cut or garbled answer, a server error: retried
	Denied                 // authentication or authorization failed: not retried
	NotFound               // no such repository: not retried
	Rejected               // a push the server refused (the branch moved): redo on the new tip
)

// Error is a failed remote operation after its retries. Its message names the operation, the
// role and the redacted address, and carries no credential; errors.Is/As reach the cause.
type Error struct {
	Role     Role
	Op       string // "fetch", "clone", "push", "list refs of"
	URL      string // redacted
	Class    Class
	Attempts int
	msg      string
	err      error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// ClassOf is the class of err's gitremote failure; Permanent when err is none.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	c, _ := classify(err)
	return c
}

// errBudget is the cause of a context whose Policy.Budget ran out.
type errBudget struct{ d time.Duration }

func (e errBudget) Error() string { return fmt.Sprintf("the fetch budget of %s ran out", e.d) }
