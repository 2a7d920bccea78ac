package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCIExamples checks the CI examples in examples/ci: each is valid YAML,
// and every runbook command in their scripts names a command of this CLI
// and parses with that command's flag set, with no more arguments than it
// takes. Each example must validate, plan to a file as Markdown, and apply.
func TestCIExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/ci/*.yml")
	if err != nil || len(files) < 2 {
		t.Fatalf("want the GitHub Actions and Azure DevOps examples, found %v (%v)", files, err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(src, &doc); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			seen := map[string]bool{}
			for _, line := range scriptLines(&doc) {
				args := shellWords(line)
				if len(args) == 0 || args[0] != "runbook" {
					continue
				}
				if err := checkCommandLine(args[1:]); err != nil {
					t.Errorf("%s: %v", line, err)
					continue
				}
				seen[strings.Join(args[:2], " ")] = true
				if args[1] == "plan" && strings.Contains(line, "-out") && strings.Contains(line, "-markdown") {
					seen["plan -out -markdown"] = true
				}
			}
			for _, want := range []string{"runbook validate", "plan -out -markdown", "runbook apply"} {
				if !seen[want] {
					t.Errorf("no %q command in %s", want, path)
				}
			}
		})
	}
}

// maxArgs is how many positional arguments a command takes, where it is
// fewer than any.
var maxArgs = map[string]int{"validate": 1, "plan": 1, "apply": 2, "show": 1, "graph": 1, "version": 0}

// checkCommandLine parses args (a command and its flags and arguments) as
// runbook would, without running it.
func checkCommandLine(args []string) error {
	if len(args) == 0 {
		return errorString("no command")
	}
	c, ok := findCommand(args[0])
	if !ok {
		return errorString("unknown command " + args[0])
	}
	var fs *flag.FlagSet
	probe := &env{stdout: io.Discard, stderr: io.Discard, onFlagSet: func(f *flag.FlagSet) {
		if fs == nil {
			fs = f
		}
	}}
	c.run(probe, []string{"-h"})
	if fs == nil {
		return errorString("command makes no flag set")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if n, ok := maxArgs[args[0]]; ok && len(pos) > n {
		return errorString("too many arguments: " + strings.Join(pos, " "))
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// scriptKeys are the keys whose values are shell scripts: GitHub Actions'
// run, Azure Pipelines' script, bash and pwsh.
var scriptKeys = map[string]bool{"run": true, "script": true, "bash": true, "pwsh": true, "powershell": true}

// scriptLines returns the lines of every script in the document, with
// backslash-continued lines joined.
func scriptLines(n *yaml.Node) []string {
	var lines []string
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if scriptKeys[k.Value] && v.Kind == yaml.ScalarNode {
				text := strings.ReplaceAll(v.Value, "\\\n", " ")
				for _, l := range strings.Split(text, "\n") {
					lines = append(lines, strings.TrimSpace(l))
				}
			}
		}
	}
	for _, c := range n.Content {
		lines = append(lines, scriptLines(c)...)
	}
	return lines
}

// shellWords splits a shell line into words up to the first redirection,
// pipe or list operator; quotes are removed, variables left as written.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				w.WriteByte(ch)
			}
		case ch == '\'' || ch == '"':
			quote, inWord = ch, true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.IndexByte("><|;&#", ch) >= 0 && !inWord:
			return words
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
