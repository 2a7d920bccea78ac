package clock

import (
	"container/heap"
	"time"
)

// entry is a pending timer of a Fake or Warp clock: it fires once, with the
// time, on its buffered channel.
type entry struct {
	c     chan time.Time
	when  time.Time
	seq   uint64 // orders timers with the same deadline by creation
	index int    // position in the heap, -1 when not pending
	// sleeper marks the timer of a Warp.Sleep.
	sleeper bool
}

func newEntry() *entry { return &entry{c: make(chan time.Time, 1), index: -1} }

// fire delivers t unless an earlier value is still unread.
func (e *entry) fire(t time.Time) {
	select {
	case e.c <- t:
	default:
	}
}

// timerHeap orders entries by deadline.
type timerHeap []*entry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when.Equal(h[j].when) {
		return h[i].seq < h[j].seq
	}
	return h[i].when.Before(h[j].when)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// remove takes e out of the heap; it reports whether e was pending.
func (h *timerHeap) remove(e *entry) bool {
	if e.index < 0 {
		return false
	}
	heap.Remove(h, e.index)
	return true
}
