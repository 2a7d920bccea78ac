package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-dev/runbook/lang"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"
)

// maxPromptInput bounds one answer typed at a prompt.
const maxPromptInput = 64 << 10

// promptMissing asks on the terminal, as Terraform does, for the variables
// that have no value, when that is all that is wrong with the runbook:
// sensitive ones with the echo off, so that a secret never has to go into a
// -var argument, the shell history or a file. It returns the answers as
// variable arguments; ok is false when it asked nothing.
func promptMissing(e *env, rb *lang.Runbook, diags hcl.Diagnostics) ([]lang.VarArg, bool, error) {
	if !e.stdinTTY || rb == nil || !diags.HasErrors() {
		return nil, false, nil
	}
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Summary != "No value for required variable" {
			return nil, false, nil
		}
	}
	var names []string
	for name, v := range rb.Variables {
		if v.Default == cty.NilVal && v.Source == "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, false, nil
	}
	sort.Strings(names)
	var args []lang.VarArg
	for _, name := range names {
		v := rb.Variables[name]
		if v.Description != "" {
			fmt.Fprintf(e.stderr, "var.%s: %s\n", name, v.Description)
		}
		var answer []byte
		var err error
		if v.Sensitive {
			fmt.Fprintf(e.stderr, "Enter a value for var.%s (sensitive, not shown): ", name)
			answer, err = readHidden(e.ctx, e.stdin)
			fmt.Fprintln(e.stderr)
		} else {
			fmt.Fprintf(e.stderr, "Enter a value for var.%s: ", name)
			answer, err = readLine(e.stdin)
		}
		if err != nil {
			return nil, false, fmt.Errorf("reading var.%s: %w", name, err)
		}
		args = append(args, lang.VarArg{Name: name, Value: string(answer), Source: "prompt"})
	}
	return args, true, nil
}

// readHidden reads a line from a terminal with the echo off. It returns
// as soon as ctx is cancelled (Ctrl-C at the prompt), with the terminal's
// echo back on: the read itself cannot be interrupted, so it is left to the
// exiting process, but the terminal is restored first.
func readHidden(ctx context.Context, r io.Reader) ([]byte, error) {
	f, ok := r.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return readLine(r)
	}
	fd := int(f.Fd())
	saved, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	type answer struct {
		b   []byte
		err error
	}
	done := make(chan answer, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- answer{b, err}
	}()
	select {
	case a := <-done:
		if len(a.b) > maxPromptInput {
			return nil, errors.New("the answer is too long")
		}
		return a.b, a.err
	case <-ctx.Done():
		if err := term.Restore(fd, saved); err != nil {
			return nil, err
		}
		return nil, context.Cause(ctx)
	}
}

// readLine reads one line, a byte at a time so that nothing after it is
// consumed (apply reads its approval from the same stream next).
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			if len(line) >= maxPromptInput {
				return nil, errors.New("the answer is too long")
			}
			line = append(line, b[0])
		}
		if err == io.EOF {
			if len(line) == 0 {
				return nil, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}
