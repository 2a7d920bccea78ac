package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/runbook-dev/runbook/clock"
	"github.com/runbook-dev/runbook/executor/lock"
	"github.com/runbook-dev/runbook/internal/azuritetest"
	"github.com/runbook-dev/runbook/state/azurerm"
)

// withAzurite stops the Azurite that scripts started (azuritetest.Lazy)
// once the tests end.
type withAzurite struct{ m interface{ Run() int } }

func (w withAzurite) Run() int {
	defer azuritetest.StopLazy()
	return w.m.Run()
}

// scriptStateKey is the team key the scripts' backends use.
var scriptStateKey = base64.StdEncoding.EncodeToString([]byte("runbook-script-state-key-32bytes"))

// azurite starts the test binary's Azurite if needed, makes a container
// for the script and sets AZURITE_ENDPOINT, AZURITE_CONTAINER and
// AZURITE_DATA (its data directory, for canary searches), with
// RUNBOOK_STATE_ACCESS_KEY (the emulator's well-known key) and
// RUNBOOK_STATE_KEY. Scripts guard it with [!azurite] skip.
func cmdAzurite(ts *testscript.TestScript, neg bool, args []string) {
	s, err := azuritetest.Lazy()
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := s.NewContainer(ctx, "script-"+strings.ToLower(ts.Getenv("WORK")[len(ts.Getenv("WORK"))-6:]))
	ts.Check(err)
	ts.Setenv("AZURITE_ENDPOINT", s.Endpoint)
	ts.Setenv("AZURITE_CONTAINER", name)
	ts.Setenv("AZURITE_DATA", s.Dir)
	ts.Setenv("RUNBOOK_STATE_ACCESS_KEY", azuritetest.Key)
	ts.Setenv("RUNBOOK_STATE_KEY", scriptStateKey)
}

// holdlock KEY LOCK takes LOCK in the script's container under KEY for a
// holder on another machine (pid 4242 on ci-runner-7, run run-ci-1) and
// never renews or releases it: an apply that died holding it.
func cmdHoldLock(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: holdlock KEY LOCK")
	}
	b, err := azurerm.New(azurerm.Config{
		Account: azuritetest.Account, Endpoint: ts.Getenv("AZURITE_ENDPOINT"), Container: ts.Getenv("AZURITE_CONTAINER"),
		Key: args[0], AccessKey: azuritetest.Key, Clock: clock.NewFake(time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)),
	})
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = b.Lock(ctx, args[1], lock.Holder{PID: 4242, Host: "ci-runner-7", User: "ci",
		Started: time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC), Run: "run-ci-1"})
	ts.Check(err)
}

// scriptCondition answers [azurite]: true when Azurite is installed, and
// always in CI (CI=true), where a script must fail rather than skip when
// it is missing.
func scriptCondition(cond string) (bool, error) {
	if cond == "azurite" {
		return os.Getenv("CI") == "true" || azuritetest.Executable() != "", nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
