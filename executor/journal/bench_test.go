package journal

import (
	"runtime"
	"testing"

	"github.com/runbook-dev/runbook/clock"
)

func benchJournal(b *testing.B) *Journal {
	j, err := Create(b.TempDir(), "bench", clock.Real)
	if err != nil {
		b.Fatal(err)
	}
	if err := j.Append(Record{Type: RunStarted}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

var benchRecord = Record{Type: StepProgress, Step: "step.eventhub", Attempt: 1, Percent: 40}

// BenchmarkAppendSequential: one writer, so one fsync per record; this is
// the disk's fsync latency.
func BenchmarkAppendSequential(b *testing.B) {
	j := benchJournal(b)
	for b.Loop() {
		if err := j.Append(benchRecord); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(j.Syncs()-1)/float64(b.N), "fsyncs/op")
}

// BenchmarkAppendConcurrent64: 64 writers share fsyncs (group commit).
func BenchmarkAppendConcurrent64(b *testing.B) {
	j := benchJournal(b)
	b.SetParallelism(64 / max(1, testingProcs()))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := j.Append(benchRecord); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(j.Syncs()-1)/float64(b.N), "fsyncs/op")
}

func testingProcs() int { return runtime.GOMAXPROCS(0) }
