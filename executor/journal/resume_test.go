package journal

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/clock"
)

// appendBuf is an in-memory File: each Write is one append, as with a blob.
type appendBuf struct{ buf *bytes.Buffer }

func (m appendBuf) Write(p []byte) (int, error) { return m.buf.Write(p) }
func (m appendBuf) Sync() error                 { return nil }
func (m appendBuf) Close() error                { return nil }

func TestContinueAndCheckHead(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC))
	var buf bytes.Buffer
	j := New(appendBuf{&buf}, "r1", clk)
	for _, rec := range []Record{{Type: RunStarted}, {Type: StepIntent, Step: "step.a", Attempt: 1}} {
		if err := j.Append(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	seq, head := j.Head()
	first := append([]byte(nil), buf.Bytes()...)

	j2, err := Continue(appendBuf{&buf}, "r1", first, clk)
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Append(Record{Type: RunResumed}); err != nil {
		t.Fatal(err)
	}
	j2.Close()
	if _, err := Parse(buf.Bytes()); err != nil {
		t.Fatalf("continued journal does not verify: %v", err)
	}

	tests := map[string]struct {
		data    []byte
		records uint64
		hash    string
		want    error
	}{
		"same":           {first, seq, head, nil},
		"grown":          {buf.Bytes(), seq, head, nil},
		"truncated":      {first[:bytes.IndexByte(first, '\n')+1], seq, head, ErrTruncated},
		"rewritten head": {first, seq, Genesis("x"), &ChainError{}},
		"no head":        {first, 0, "", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckHead("r1", tc.data, tc.records, tc.hash)
			var ce *ChainError
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("CheckHead: %v", err)
			case tc.want == ErrTruncated && !errors.Is(err, ErrTruncated):
				t.Fatalf("CheckHead = %v, want ErrTruncated", err)
			case tc.want != nil && tc.want != ErrTruncated && !errors.As(err, &ce):
				t.Fatalf("CheckHead = %v, want a ChainError", err)
			}
		})
	}

	t.Run("torn tail refused", func(t *testing.T) {
		_, err := Continue(appendBuf{&bytes.Buffer{}}, "r1", first[:len(first)-3], clk)
		var torn *TornTailError
		if !errors.As(err, &torn) {
			t.Fatalf("Continue on a torn journal = %v, want a TornTailError", err)
		}
	})
}
