package pipeline

import "golang.org/x/sys/unix"

// exchange swaps the directories a and b atomically (renameat2 RENAME_EXCHANGE): a reader of
// either path sees one complete tree or the other, never a moment without one.
func exchange(a, b string) error {
	return unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
}
