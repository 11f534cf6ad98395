package gitremote

import (
	"testing"
	"time"
)

func TestLockCacheSerialises(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockCache(dir, "https://example.com/cfg.git")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u2, err := lockCache(dir, "https://example.com/cfg.git")
		if err != nil {
			t.Error(err)
		}
		close(got)
		u2()
	}()
	select {
	case <-got:
		t.Fatal("a second holder got the lock while the first held it")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	<-got
	other, err := lockCache(dir, "https://example.com/other.git")
	if err != nil {
		t.Fatal(err)
	}
	other()
}
