package main

import (
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
	fs := newFlagSet(e, "version", "", "Print the version of runbook.")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "runbook %s %s/%s %s\n", toolVersion(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	return exitOK
}
