// Package shard splits a fleet of services across N runners (docs/design.md §4): `cac build
// --shard I/N`, GitLab's `parallel: N` (CI_NODE_INDEX, CI_NODE_TOTAL) or a GitHub matrix. The
// split is rendezvous hashing (highest random weight) over the service's name: each service goes
// to the shard whose hash with it is highest. It depends on the name and N only, so adding or
// removing a service moves no other service, and going from N to N+1 runners moves only the
// services the new runner takes (about 1/(N+1) of them).
//
//	s, err := shard.Parse("2/4")
//	mine := s.Filter(usns)
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
)

// The GitLab CI variables of a job with `parallel: N` (CI_NODE_INDEX is 1-based).
const (
	IndexVar = "CI_NODE_INDEX"
	TotalVar = "CI_NODE_TOTAL"
)

// Spec is shard Index of Total (1 ≤ Index ≤ Total). The zero Spec is 1/1: everything.
type Spec struct {
	Index, Total int
}

// All is the one shard that holds every service.
var All = Spec{Index: 1, Total: 1}

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Total) }

// Parse reads "I/N". A malformed spec is a usage error (exit 2).
func Parse(spec string) (Spec, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return Spec{}, cacerr.Usage("--shard %q: want I/N, e.g. 2/4 (the second of 4 runners)", spec)
	}
	return parse("--shard "+strconv.Quote(spec), i, n)
}

// FromEnv reads GitLab's CI_NODE_INDEX and CI_NODE_TOTAL through getenv; ok is false when
// CI_NODE_TOTAL is unset (the job is not parallel). Bad values are usage errors (exit 2).
func FromEnv(getenv func(string) string) (s Spec, ok bool, err error) {
	total := getenv(TotalVar)
	if total == "" {
		return Spec{}, false, nil
	}
	s, err = parse(fmt.Sprintf("%s=%q %s=%q", IndexVar, getenv(IndexVar), TotalVar, total), getenv(IndexVar), total)
	return s, err == nil, err
}

func parse(what, index, total string) (Spec, error) {
	i, ierr := strconv.Atoi(strings.TrimSpace(index))
	n, nerr := strconv.Atoi(strings.TrimSpace(total))
	switch {
	case ierr != nil || nerr != nil:
		return Spec{}, cacerr.Usage("%s: the index and the total must be whole numbers", what)
	case n < 1:
		return Spec{}, cacerr.Usage("%s: the total must be at least 1", what)
	case i < 1 || i > n:
		return Spec{}, cacerr.Usage("%s: the index must be between 1 and %d (it counts from 1)", what, n)
	}
	return Spec{Index: i, Total: n}, nil
}

// Of is the shard (1..total) that name belongs to.
func Of(name string, total int) int {
	best, bestW := 1, uint64(0)
	for i := 1; i <= total; i++ {
		if w := weight(name, i); i == 1 || w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

// Owns reports whether name belongs to shard s.
func (s Spec) Owns(name string) bool {
	if s.Total <= 1 {
		return true
	}
	return Of(name, s.Total) == s.Index
}

// Filter keeps the names of shard s, in their order.
func (s Spec) Filter(names []string) []string {
	var out []string
	for _, n := range names {
		if s.Owns(n) {
			out = append(out, n)
		}
	}
	return out
}

// weight is the rendezvous weight of name on shard i: the first 8 bytes of SHA-256 of both.
func weight(name string, i int) uint64 {
	sum := sha256.Sum256([]byte(name + "\x00" + strconv.Itoa(i)))
	return binary.BigEndian.Uint64(sum[:8])
}
