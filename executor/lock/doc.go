// Package lock owns the per-target locks that keep two applies from
// changing the same Azure Stack Hub stamp at once.
//
// A target is a string naming what an apply changes, normally built with
// Target from the kind and endpoint ("hub:https://adminmanagement.east…",
// one per PEP address), so that two runbooks that reach the same stamp
// under different names still collide. Each target has a lock file under a
// directory (usually .runbook/locks), named by the hash of the target, and
// locked with github.com/gofrs/flock: flock(2) on Unix, LockFileEx on
// Windows. The operating system releases the lock when the holding process
// exits, however it exits, so a crashed apply never leaves a stale lock.
//
// Acquire is non-blocking and all-or-nothing: it locks the targets in
// sorted order and, if one is held, releases the ones it took and returns a
// *HeldError naming the holder (pid, host, user, start time, run) so the
// operator knows whom to wait for.
//
// Lock files are never deleted: deleting a lock file while another process
// has it open lets two processes lock two different files of the same name.
package lock
