//go:build unix

package pipeline

import "syscall"

// umask is the process's file mode creation mask, read once at start (reading it means setting it,
// which is safe only before any goroutine creates files).
var umask = func() uint32 {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return uint32(m)
}()
