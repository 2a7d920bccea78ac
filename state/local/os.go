package local

import "time"

// lockPoll is how often WriteDocument retries the document's lock while
// another process writes it (a few milliseconds at most).
const lockPoll = 5 * time.Millisecond
