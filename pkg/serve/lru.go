package serve

import (
	"container/list"
	"sync"
)

// lru remembers the last n keys (delivery ids).
type lru struct {
	mu    sync.Mutex
	n     int
	order *list.List // front: most recent
	keys  map[string]*list.Element
}

func newLRU(n int) *lru {
	return &lru{n: n, order: list.New(), keys: map[string]*list.Element{}}
}

// add records key and reports whether it was already there.
func (c *lru) add(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys[key]; ok {
		c.order.MoveToFront(e)
		return true
	}
	c.keys[key] = c.order.PushFront(key)
	if c.order.Len() > c.n {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.keys, oldest.Value.(string))
	}
	return false
}
