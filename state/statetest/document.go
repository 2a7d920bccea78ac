package statetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/journal"
	"github.com/runbook-dev/runbook/state"
)

// RunDocument checks the state document's rules on backends made by
// newEmpty: concurrent updates all land, and a journal that was cut short
// or changed after its head was recorded is refused. tamper replaces a
// run's stored journal with other bytes, as someone with write access to
// the store could.
func RunDocument(t *testing.T, newEmpty func(t *testing.T) func() state.Backend, tamper func(t *testing.T, b state.Backend, run string, data []byte)) {
	t.Run("concurrent updates", func(t *testing.T) {
		open := newEmpty(t)
		var wg sync.WaitGroup
		const writers = 8
		errs := make(chan error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := state.Update(ctx(t), open(), func(d *state.Document) error {
					if d.Steps == nil {
						d.Steps = map[string]state.StepEntry{}
					}
					d.Steps[fmt.Sprintf("step.s%d", i)] = state.StepEntry{Result: map[string]string{"n": fmt.Sprint(i)}}
					return nil
				})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		d, _, err := state.ReadDocument(ctx(t), open())
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Steps) != writers {
			t.Errorf("%d steps in the document, want %d: an update was lost", len(d.Steps), writers)
		}
	})
	t.Run("journal against its head", func(t *testing.T) {
		open := newEmpty(t)
		b := open()
		j, err := b.CreateJournal(ctx(t), "r1", clock.NewFake(start))
		if err != nil {
			t.Fatal(err)
		}
		j.Append(journal.Record{Type: journal.RunStarted})
		j.Append(journal.Record{Type: journal.StepIntent, Step: "step.a", Attempt: 1})
		j.Append(journal.Record{Type: journal.StepResult, Step: "step.a", Status: journal.Succeeded})
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		seq, hash := j.Head()
		if _, err := state.Update(ctx(t), b, func(d *state.Document) error {
			d.SetHead("r1", state.RunHead{Records: seq, Hash: hash})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		d, _, _ := state.ReadDocument(ctx(t), b)
		data, _, err := state.VerifyJournal(ctx(t), open(), d, "r1")
		if err != nil {
			t.Fatalf("intact journal: %v", err)
		}
		lines := bytes.SplitAfter(data, []byte("\n"))
		cases := map[string]struct {
			data  []byte
			check func(error) bool
		}{
			"truncated": {bytes.Join(lines[:2], nil), func(err error) bool { return errors.Is(err, journal.ErrTruncated) }},
			"tampered": {bytes.Replace(data, []byte(`"step.a"`), []byte(`"step.b"`), 1), func(err error) bool {
				var ce *journal.ChainError
				return errors.As(err, &ce)
			}},
		}
		for _, name := range []string{"truncated", "tampered"} {
			c := cases[name]
			run := "r-" + name
			tamper(t, b, run, c.data)
			if _, err := state.Update(ctx(t), b, func(d *state.Document) error {
				d.SetHead(run, state.RunHead{Records: seq, Hash: hash})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			d, _, _ := state.ReadDocument(ctx(t), b)
			_, _, err := state.VerifyJournal(ctx(t), open(), d, run)
			if err == nil || !c.check(err) {
				t.Errorf("%s journal: VerifyJournal = %v", name, err)
			}
		}
	})
	t.Run("migrate", func(t *testing.T) {
		from, to := newEmpty(t)(), newEmpty(t)()
		for _, run := range []string{"r1", "r2"} {
			j, _ := from.CreateJournal(ctx(t), run, clock.NewFake(start))
			j.Append(journal.Record{Type: journal.RunStarted, User: "op"})
			j.Append(journal.Record{Type: journal.RunEnded, Status: journal.Succeeded})
			j.Close()
		}
		left, err := state.Unmigrated(ctx(t), from, to)
		if err != nil || !cmp.Equal(left, []string{"r1", "r2"}) {
			t.Fatalf("Unmigrated = %v, %v", left, err)
		}
		done, err := state.Migrate(ctx(t), from, to)
		if err != nil || len(done) != 2 {
			t.Fatalf("Migrate = %v, %v", done, err)
		}
		if left, _ := state.Unmigrated(ctx(t), from, to); len(left) != 0 {
			t.Errorf("after Migrate, Unmigrated = %v", left)
		}
		d, _, _ := state.ReadDocument(ctx(t), to)
		for _, run := range []string{"r1", "r2"} {
			if h := d.Runs[run]; h.Records != 2 || h.Status != "succeeded" || h.User != "op" {
				t.Errorf("head of %s = %+v", run, h)
			}
			if _, _, err := state.VerifyJournal(ctx(t), to, d, run); err != nil {
				t.Error(err)
			}
		}
		if again, err := state.Migrate(ctx(t), from, to); err != nil || len(again) != 0 {
			t.Errorf("a second Migrate = %v, %v; want nothing to do", again, err)
		}
	})
}
