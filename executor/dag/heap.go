package dag

// minHeap is a binary min-heap of vertex ids ordered by their rank (their
// position in address order). It is how every algorithm here makes "ties
// broken by address" cost O(log V) per vertex.
type minHeap struct {
	ids  []int
	rank []int
}

func (h *minHeap) Len() int { return len(h.ids) }

func (h *minHeap) less(i, j int) bool { return h.rank[h.ids[i]] < h.rank[h.ids[j]] }

func (h *minHeap) Push(id int) {
	h.ids = append(h.ids, id)
	for i := len(h.ids) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.ids[i], h.ids[p] = h.ids[p], h.ids[i]
		i = p
	}
}

func (h *minHeap) Pop() int {
	top := h.ids[0]
	last := len(h.ids) - 1
	h.ids[0] = h.ids[last]
	h.ids = h.ids[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(l, m) {
			m = l
		}
		if r < last && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.ids[i], h.ids[m] = h.ids[m], h.ids[i]
		i = m
	}
	return top
}
