//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// echoOn reports whether the terminal echoes what is typed.
func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// waitEcho waits until the terminal's echo is as wanted.
func waitEcho(t *testing.T, f *os.File, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for echoOn(t, f) != want {
		if time.Now().After(deadline) {
			t.Fatalf("terminal echo never became %v", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReadHiddenAnswer types a secret at the hidden prompt: it is read, it
// is not echoed, and the echo is on again afterwards.
func TestReadHiddenAnswer(t *testing.T) {
	master, slave := openPTY(t, 80)
	defer master.Close()
	defer slave.Close()
	var echoed bytes.Buffer
	go io.Copy(&echoed, master)

	got := make(chan []byte, 1)
	go func() {
		b, err := readHidden(context.Background(), slave)
		if err != nil {
			t.Errorf("readHidden: %v", err)
		}
		got <- b
	}()
	waitEcho(t, slave, false)
	if _, err := master.WriteString("Canary-Prompt-77\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "Canary-Prompt-77" {
			t.Fatalf("read %q, want the typed answer", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readHidden did not return the typed answer")
	}
	if !echoOn(t, slave) {
		t.Error("the echo is still off after the answer")
	}
	if bytes.Contains(echoed.Bytes(), []byte("Canary")) {
		t.Errorf("the terminal echoed the secret: %q", echoed.String())
	}
}

// TestReadHiddenInterrupted cancels the command while it waits at the
// hidden prompt, as Ctrl-C does: the prompt gives up at once with the
// cancellation's cause, and the terminal's echo is on again, so the shell
// the operator returns to shows what they type.
func TestReadHiddenInterrupted(t *testing.T) {
	master, slave := openPTY(t, 80)
	defer master.Close()
	defer slave.Close()
	go io.Copy(io.Discard, master)

	ctx, cancel := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := readHidden(ctx, slave)
		errc <- err
	}()
	waitEcho(t, slave, false)
	cancel(errInterrupted)
	select {
	case err := <-errc:
		if !errors.Is(err, errInterrupted) {
			t.Fatalf("readHidden returned %v, want %v", err, errInterrupted)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("readHidden did not return after the cancellation")
	}
	if !echoOn(t, slave) {
		t.Error("the terminal's echo is still off after the interrupted prompt")
	}
}
