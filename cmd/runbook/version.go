package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build info is used.
var version = ""

// toolVersion returns runbook's version.
func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func runVersion(e *env, args []string) int {
	fs := newFlagSet(e, "version", "", "Print the version of runbook, and with -json also the versions of its plan\nand event formats.")
	asJSON := fs.Bool("json", false, "Print the versions as a JSON object")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "runbook version: takes no arguments")
		return exitUsage
	}
	if *asJSON {
		b, _ := json.MarshalIndent(currentVersionInfo(), "", "  ")
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "runbook %s %s/%s %s\n", toolVersion(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	return exitOK
}
