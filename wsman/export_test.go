package wsman

// DeadIdleConns returns how many of the client's idle connections it has
// seen the server close. Tests wait for it before the next request, since a
// request written in the instant the server closes an idle connection
// fails (and is not resent: the client cannot know it was not received).
func DeadIdleConns(c *Client) int {
	c.tr.mu.Lock()
	defer c.tr.mu.Unlock()
	n := 0
	for _, x := range c.tr.idle {
		if x.isDead() {
			n++
		}
	}
	return n
}
