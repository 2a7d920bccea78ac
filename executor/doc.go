// Package executor turns a loaded runbook into a plan and applies it.
//
// Step types plug in through the StepType interface and a Registry (the
// Packer ConfigSpec pattern: each type declares its body's schema and the
// executor decodes the body with it). Plan builds the step DAG from
// depends_on and from references, asks each step type to read the current
// state and propose a change, and evaluates policies and conditions. Apply
// walks the reviewed plan with bounded parallelism, inside the change
// window, writing a journal before and after every side effect.
//
// The subpackages hold the pieces: dag (graph, cycles, walk), plan (pure
// data), render (text, JSON, Markdown), journal (the write-ahead log) and
// lock (one apply per target).
package executor
