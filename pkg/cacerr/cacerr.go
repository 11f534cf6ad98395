// Package cacerr classifies errors into the exit codes of docs/design.md §4:
// 0 success · 1 findings in the input · 2 usage or local setup error · 3 remote failure after retries.
// Commands return errors; one place (cmd/cac) prints them and maps them with ExitCode.
package cacerr

import (
	"errors"
	"fmt"
)

// Kind is the class of an error, equal to its exit code.
type Kind int

const (
	KindFindings Kind = 1 // problems in the user's input (validation, placeholders, scan hits)
	KindUsage    Kind = 2 // bad flags, missing files, broken local setup
	KindRemote   Kind = 3 // git server or forge API failed after retries
)

// Error carries a Kind around an underlying error.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrFindings is wrapped by errors returned when findings were reported (already printed).
var ErrFindings = errors.New("findings reported")

// Usage returns a usage/local-setup error (exit 2).
func Usage(format string, args ...any) error {
	return &Error{Kind: KindUsage, Err: fmt.Errorf(format, args...)}
}

// Remote marks err as a remote failure (exit 3).
func Remote(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindRemote, Err: err}
}

// Findings returns an error meaning findings were reported (exit 1); msg says how many, e.g.
// "3 problems found". errors.Is(err, ErrFindings) holds.
func Findings(n int, what string) error {
	return &Error{Kind: KindFindings, Err: findingsError(fmt.Sprintf("%d %s", n, what))}
}

type findingsError string

func (e findingsError) Error() string        { return string(e) }
func (e findingsError) Is(target error) bool { return target == ErrFindings }

// Wrap marks err with kind, keeping its chain.
func Wrap(kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Err: err}
}

// ExitCode maps an error to the process exit code. Unclassified errors are local setup errors (2).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return int(e.Kind)
	}
	return int(KindUsage)
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
