package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

func runCompletion(e *env, args []string) int {
	fs := newFlagSet(e, "completion", "bash|powershell",
		"Print a shell completion script for runbook's commands and flags.\n"+
			"  bash:        source <(runbook completion bash)\n"+
			"               (or save it under /etc/bash_completion.d/runbook)\n"+
			"  PowerShell:  runbook completion powershell | Out-String | Invoke-Expression\n"+
			"               (add that line to $PROFILE to keep it)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "runbook completion: give the shell: bash or powershell")
		return exitUsage
	}
	specs := completionSpecs()
	switch fs.Arg(0) {
	case "bash":
		writeBashCompletion(e.stdout, specs)
	case "powershell", "pwsh":
		writePowerShellCompletion(e.stdout, specs)
	default:
		fmt.Fprintf(e.stderr, "runbook completion: no completion for %q: give bash or powershell.%s\n", fs.Arg(0), didYouMean(fs.Arg(0), []string{"bash", "powershell"}))
		return exitUsage
	}
	return exitOK
}

// completionSpec is what completion knows of one command.
type completionSpec struct {
	name string
	// flags are the command's flags, each with a leading "-".
	flags []string
	// files are the flags whose value is a file name.
	files []string
	// values are the fixed values of flags and the command's words.
	values map[string][]string
}

// completionSpecs asks every command for its flag set (by running it with
// -h while capturing the flag set it makes), so that completion always
// offers exactly the flags the commands accept.
func completionSpecs() []completionSpec {
	var specs []completionSpec
	for _, c := range commands() {
		if c.hidden || c.name == "help" || c.name == "completion" {
			continue
		}
		spec := completionSpec{name: c.name, values: map[string][]string{}}
		var sets []*flag.FlagSet
		probe := &env{stdout: io.Discard, stderr: io.Discard, onFlagSet: func(fs *flag.FlagSet) { sets = append(sets, fs) }}
		c.run(probe, []string{"-h"})
		if c.name == "sim" {
			c.run(probe, []string{"certs", "-h"}) // sim certs has flags of its own
		}
		for _, fs := range sets {
			fs.VisitAll(func(f *flag.Flag) {
				spec.flags = append(spec.flags, "-"+f.Name)
				switch f.Name {
				case "var-file", "out":
					spec.files = append(spec.files, "-"+f.Name)
				case "on-failure":
					spec.values["-"+f.Name] = []string{"stop", "continue"}
				}
			})
		}
		sort.Strings(spec.flags)
		spec.flags = slices.Compact(spec.flags)
		specs = append(specs, spec)
	}
	specs = append(specs, completionSpec{name: "help", values: map[string][]string{}})
	specs = append(specs, completionSpec{name: "completion", values: map[string][]string{"": {"bash", "powershell"}}})
	for i := range specs {
		switch specs[i].name {
		case "help":
			specs[i].values[""] = commandNames()
		case "runs":
			specs[i].values[""] = []string{"show"}
		case "sim":
			specs[i].values[""] = []string{"certs"}
		case "state":
			specs[i].values[""] = []string{"list", "show", "migrate"}
		}
	}
	return specs
}

func writeBashCompletion(w io.Writer, specs []completionSpec) {
	var names []string
	for _, s := range specs {
		names = append(names, s.name)
	}
	fmt.Fprintf(w, `# bash completion for runbook. Load it with
#   source <(runbook completion bash)
_runbook() {
  local cur prev cmd flags words files
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W %q -- "$cur"))
    return 0
  fi
  cmd="${COMP_WORDS[1]}"
  case "$cmd" in
`, strings.Join(names, " "))
	for _, s := range specs {
		fmt.Fprintf(w, "    %s) flags=%q; files=%q; words=%q ;;\n", s.name, strings.Join(s.flags, " "),
			strings.Join(s.files, " "), strings.Join(s.values[""], " "))
	}
	fmt.Fprint(w, `    *) return 0 ;;
  esac
  case "$prev" in
`)
	for _, s := range specs {
		for flagName, vals := range s.values {
			if flagName != "" {
				fmt.Fprintf(w, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return 0 ;;\n", flagName, strings.Join(vals, " "))
			}
		}
	}
	fmt.Fprint(w, `  esac
  if [[ " $files " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return 0
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
}
complete -o filenames -F _runbook runbook
`)
}

func writePowerShellCompletion(w io.Writer, specs []completionSpec) {
	fmt.Fprint(w, `# PowerShell completion for runbook. Load it with
#   runbook completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'runbook', 'runbook.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $flags = @{
`)
	for _, s := range specs {
		fmt.Fprintf(w, "        '%s' = @(%s)\n", s.name, psList(s.flags))
	}
	fmt.Fprint(w, `    }
    $words = @{
`)
	for _, s := range specs {
		if len(s.values[""]) > 0 {
			fmt.Fprintf(w, "        '%s' = @(%s)\n", s.name, psList(s.values[""]))
		}
	}
	fmt.Fprint(w, `        '-on-failure' = @('stop', 'continue')
    }
    $elements = @($commandAst.CommandElements | ForEach-Object { $_.ToString() })
    $complete = {
        param($candidates, $kind)
        $candidates | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
            [System.Management.Automation.CompletionResult]::new($_, $_, $kind, $_)
        }
    }
    if ($elements.Count -lt 2 -or ($elements.Count -eq 2 -and $wordToComplete -ne '')) {
        & $complete ($flags.Keys | Sort-Object) 'Command'
        return
    }
    $command = $elements[1]
    $previous = $elements[-1]
    if ($wordToComplete -ne '') { $previous = $elements[-2] }
    if ($words.ContainsKey($previous)) {
        & $complete $words[$previous] 'ParameterValue'
        return
    }
    if ($wordToComplete -like '-*' -and $flags.ContainsKey($command)) {
        & $complete $flags[$command] 'ParameterName'
        return
    }
    if ($words.ContainsKey($command)) {
        & $complete $words[$command] 'ParameterValue'
    }
    # Otherwise nothing: PowerShell completes file and directory names.
}
`)
}

// psList writes a PowerShell array's items, single-quoted.
func psList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}
