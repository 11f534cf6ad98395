//go:build !unix

package pipeline

// umask is unknown here: every written file gets its mode set explicitly.
var umask uint32 = 0o777
