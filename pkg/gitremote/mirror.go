package gitremote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/cacproj/cac/pkg/cacerr"
)

// MirrorOptions say which branch to mirror and where to keep it.
type MirrorOptions struct {
	// Branch is the branch to fetch; "" is the remote's default branch.
	Branch string
	// Cache, when set, keeps the objects in Cache/<hash of the redacted URL>/repo.git, as Checkout
	// does (same key, same lock), fetched incrementally: a later Mirror of the same remote costs
	// what changed since. Without it the tip is fetched into memory (depth 1).
	Cache string
	// Stderr receives notices; nil discards them.
	Stderr io.Writer
}

// Mirror is the fetched tip of one branch of a remote, to build a commit on and push it back
// with PushCommit, without a work tree. Objects written through Objects stay in memory until a
// push succeeds; only then are they added to the cache, so a rejected attempt leaves nothing
// behind. A cached Mirror holds the cache lock until Close.
type Mirror struct {
	Branch string        // the branch fetched (the default branch when MirrorOptions.Branch is "")
	Tip    plumbing.Hash // its commit; zero when the remote has no commit yet

	rem     *Remote
	f       *fetcher
	objects *overlay
	unlock  func()
}

// Mirror fetches the tip of o.Branch (or of the default branch) into the cache or into memory.
// A remote without any commit gives a Mirror with a zero Tip, on o.Branch or "main".
func (r *Remote) Mirror(ctx context.Context, o MirrorOptions) (*Mirror, error) {
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	f := &fetcher{o: CheckoutOptions{Branch: o.Branch, Cache: o.Cache, Stderr: o.Stderr}, rem: r, res: &Snapshot{URL: r.display, Requested: o.Branch}}
	m := &Mirror{rem: r, f: f}
	if o.Cache != "" {
		var err error
		if m.unlock, err = lockCache(o.Cache, r.display); err != nil {
			return nil, err
		}
	}
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	if err := m.fetch(ctx); err != nil {
		m.Close()
		return nil, err
	}
	m.objects = &overlay{base: f.repo.Storer, mem: map[plumbing.Hash]plumbing.EncodedObject{}}
	return m, nil
}

func (m *Mirror) fetch(ctx context.Context) error {
	f := m.f
	if err := f.open(false); err != nil {
		return err
	}
	// The tip as last fetched (origin/HEAD: the default branch as last seen), to check only what
	// the fetch adds.
	before := m.tracking("HEAD")
	if f.o.Branch != "" {
		before = m.tracking(f.o.Branch)
	}
	branch, err := m.fetchBranch(ctx)
	if errors.Is(err, ErrEmptyRepository) {
		// A new repository: the first push creates the branch.
		m.Branch = f.o.Branch
		if m.Branch == "" {
			m.Branch = "main"
		}
		return nil
	}
	if err != nil {
		return err
	}
	m.Branch, m.Tip = branch, m.tracking(branch)
	if f.incremental && m.Tip != before && !m.completeSince(before) {
		fmt.Fprintf(f.o.Stderr, "cac: cached clone of %s lacks objects after a history rewrite; cloning it again\n", f.rem)
		if err := f.open(true); err != nil {
			return err
		}
		if m.Branch, err = m.fetchBranch(ctx); err != nil {
			return err
		}
		m.Tip = m.tracking(m.Branch)
	}
	if m.Tip.IsZero() {
		return cacerr.Usage("%s %s: fetched branch %s is missing locally", f.rem.role, f.rem, m.Branch)
	}
	return nil
}

// fetchBranch fetches the branch asked for, which must exist unless the remote has no branch at
// all, or the default branch.
func (m *Mirror) fetchBranch(ctx context.Context) (string, error) {
	f := m.f
	if f.o.Branch == "" {
		return f.fetchBranch(ctx)
	}
	err := f.fetchOne(ctx, f.o.Branch)
	if !IsNoBranch(err) {
		return f.o.Branch, err
	}
	refs, _, lerr := f.rem.list(ctx)
	if lerr != nil {
		return "", lerr
	}
	for _, ref := range refs {
		if ref.Name().IsBranch() {
			return "", cacerr.Usage("%s %s has no branch %s: %w", f.rem.role, f.rem, f.o.Branch, err)
		}
	}
	return "", ErrEmptyRepository
}

func (m *Mirror) tracking(branch string) plumbing.Hash {
	ref, err := m.f.repo.Reference(plumbing.ReferenceName("refs/remotes/origin/"+branch), true)
	if err != nil {
		return plumbing.ZeroHash
	}
	return ref.Hash()
}

// completeSince reports whether every object the tip adds to the tree of the commit before is
// present: subtrees equal in both are skipped, so this costs what changed, not the tree's size.
// Without a usable before, the whole tree is checked.
func (m *Mirror) completeSince(before plumbing.Hash) bool {
	s := m.f.repo.Storer
	tip, err := object.GetCommit(s, m.Tip)
	if err != nil {
		return false
	}
	to, err := tip.Tree()
	if err != nil {
		return false
	}
	old, err := object.GetCommit(s, before)
	if before.IsZero() || err != nil {
		return m.f.complete(m.Branch)
	}
	from, err := old.Tree()
	if err != nil {
		return m.f.complete(m.Branch)
	}
	changes, err := object.DiffTree(from, to)
	if err != nil {
		return false
	}
	for _, ch := range changes {
		if ch.To.Name != "" && s.HasEncodedObject(ch.To.TreeEntry.Hash) != nil {
			return false
		}
	}
	return true
}

// Objects is the object store to read the tip from and write new objects into.
func (m *Mirror) Objects() storer.EncodedObjectStorer { return m.objects }

// Close releases the cache lock; objects not pushed are dropped.
func (m *Mirror) Close() {
	if m.unlock != nil {
		m.unlock()
		m.unlock = nil
	}
}

// errStale is a push whose lease no longer holds: the remote branch moved.
var errStale = errors.New("stale info: the branch moved since it was fetched")

// PushCommit sets the remote branch ref to commit, which must be built on the Mirror's objects,
// sending exactly the objects written through Objects since the Mirror was made: the remote has
// every other object commit reaches, because the push is leased on old. old is the hash the
// remote ref must still have (zero: the ref must not exist); when it moved, the push is an *Error
// of Class Rejected, and the change is to be redone on a new Mirror. The cost is the size of the
// new objects, never the size of the repository.
func (m *Mirror) PushCommit(ctx context.Context, ref plumbing.ReferenceName, commit, old plumbing.Hash) error {
	r := m.rem
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, m.objects, false).Encode(m.objects.added, 10); err != nil {
		return cacerr.Usage("%s push: pack objects: %w", r.role, err)
	}
	tr, err := client.NewClient(r.endpoint)
	if err != nil {
		return cacerr.Usage("%s push: %w", r.role, err)
	}
	n, err := retry(ctx, r.policy, func(ctx context.Context) error {
		s, err := tr.NewReceivePackSession(r.endpoint, r.auth)
		if err != nil {
			return err
		}
		defer s.Close()
		ar, err := s.AdvertisedReferencesContext(ctx)
		if err != nil {
			return err
		}
		refs, err := ar.AllReferences()
		if err != nil {
			return err
		}
		var cur plumbing.Hash
		if ref, ok := refs[ref]; ok {
			cur = ref.Hash()
		}
		switch cur {
		case commit: // an earlier attempt landed and only its answer was lost
			return nil
		case old:
		default:
			return errStale
		}
		req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
		req.Commands = []*packp.Command{{Name: ref, Old: old, New: commit}}
		req.Packfile = io.NopCloser(bytes.NewReader(pack.Bytes()))
		rs, err := s.ReceivePack(ctx, req)
		if err != nil {
			return err
		}
		if rs != nil {
			return rs.Error()
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errStale) || rejected(err) {
			e := &Error{Role: r.role, Op: "push", URL: r.display, Class: Rejected, Attempts: n, err: err}
			e.msg = r.scrub.scrub(fmt.Sprintf("%s: rejected: %v", r.what("push", ref), err))
			return cacerr.Remote(e)
		}
		return r.fail(ctx, err, "push", r.what("push", ref), n)
	}
	m.keep(ref, commit)
	return nil
}

// keep adds the pushed objects to the cache and records the new tip, so the next Mirror's fetch
// finds nothing to fetch. Failing to is harmless: the next fetch brings them.
func (m *Mirror) keep(ref plumbing.ReferenceName, commit plumbing.Hash) {
	if m.f.o.Cache == "" || !ref.IsBranch() || ref.Short() != m.Branch {
		return
	}
	s := m.f.repo.Storer
	for _, h := range m.objects.added {
		if _, err := s.SetEncodedObject(m.objects.mem[h]); err != nil {
			return
		}
	}
	_ = s.SetReference(plumbing.NewHashReference(plumbing.ReferenceName("refs/remotes/origin/"+m.Branch), commit))
}

// overlay reads objects from base and keeps new ones in memory, in the order written.
type overlay struct {
	base  storer.EncodedObjectStorer
	mem   map[plumbing.Hash]plumbing.EncodedObject
	added []plumbing.Hash
}

func (o *overlay) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (o *overlay) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	h := obj.Hash()
	if _, ok := o.mem[h]; !ok {
		o.mem[h] = obj
		o.added = append(o.added, h)
	}
	return h, nil
}

func (o *overlay) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if obj, ok := o.mem[h]; ok {
		if t != plumbing.AnyObject && obj.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return obj, nil
	}
	return o.base.EncodedObject(t, h)
}

func (o *overlay) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	base, err := o.base.IterEncodedObjects(t)
	if err != nil {
		return nil, err
	}
	var own []plumbing.EncodedObject
	for _, h := range o.added {
		if obj := o.mem[h]; t == plumbing.AnyObject || obj.Type() == t {
			own = append(own, obj)
		}
	}
	return storer.NewMultiEncodedObjectIter([]storer.EncodedObjectIter{storer.NewEncodedObjectSliceIter(own), base}), nil
}

func (o *overlay) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := o.mem[h]; ok {
		return nil
	}
	return o.base.HasEncodedObject(h)
}

func (o *overlay) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if obj, ok := o.mem[h]; ok {
		return obj.Size(), nil
	}
	return o.base.EncodedObjectSize(h)
}

func (o *overlay) AddAlternate(string) error {
	return errors.New("alternates are not supported")
}
