package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/runbook-dev/runbook/executor/plan"
	"github.com/runbook-dev/runbook/expiry"
	"github.com/runbook-dev/runbook/lang"
)

func runExpiry(e *env, args []string) int {
	fs := newFlagSet(e, "expiry", "[DIR...]",
		"List every secret the hubs and PEPs of the runbooks show, when it expires, where\n"+
			"that date comes from (alert, product secret expirationDate, stamp information,\n"+
			"TLS certificate) and which step would rotate it, sorted by deadline. Several\n"+
			"directories (several stamps) are read concurrently. Read-only: it changes\n"+
			"nothing, so a scheduled job may run it (docs/expiry.md).")
	var f planFlags
	f.vars.register(fs)
	fs.BoolVar(&f.simulate, "simulate", false, "Read the built-in simulated stamp instead of real systems")
	asJSON := fs.Bool("json", false, "Print the secrets as JSON")
	within := fs.String("within", "90d", "Report secrets that expire within this `duration` (e.g. 30d, 720h)")
	if code, ok := parseFlags(fs, e, args); !ok {
		return code
	}
	horizon, err := lang.ParseDuration(*within)
	if err != nil || horizon <= 0 {
		fmt.Fprintf(e.stderr, "runbook expiry: -within %q: give a positive duration such as 90d or 720h\n", *within)
		return exitUsage
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	// Sessions are opened one after the other (loading may prompt for a
	// variable on a terminal); the stamps are then read concurrently.
	var sessions []*session
	defer func() {
		for _, s := range sessions {
			s.close()
		}
	}()
	for _, d := range dirs {
		s, ok := openSession(e, d, &f, nil)
		if !ok {
			return exitError
		}
		sessions = append(sessions, s)
	}
	reports := readStamps(e, sessions)
	now := sessions[0].clock.Now().UTC()
	all, errs := expiryRows(dirs, reports, now, horizon)
	if *asJSON {
		writeExpiryJSON(e.stdout, now, horizon, all, errs)
	} else {
		writeExpiryTable(e.stdout, now, horizon, all, len(dirs) > 1)
		for _, msg := range errs {
			fmt.Fprintf(e.stderr, "Error: %s\n", msg)
		}
	}
	switch {
	case len(errs) > 0:
		return exitError
	case countWithin(all) > 0:
		return exitChanges
	}
	return exitOK
}

// readStamps reads the secrets of each session's stamp, concurrently.
func readStamps(e *env, sessions []*session) []expiryReport {
	reports := make([]expiryReport, len(sessions))
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i] = readStamp(e.ctx, s)
		}()
	}
	wg.Wait()
	return reports
}

// expiryRows are the secrets of every report, sorted by deadline, then
// runbook and secret, and the errors met reading them, each naming its
// runbook directory.
func expiryRows(dirs []string, reports []expiryReport, now time.Time, horizon time.Duration) ([]expiryRow, []string) {
	var all []expiryRow
	var errs []string
	for i, r := range reports {
		for _, sec := range r.secrets {
			all = append(all, expiryRow{Runbook: dirs[i], Secret: sec, DaysLeft: sec.DaysLeft(now),
				WithinHorizon: sec.Expires.Before(now.Add(horizon))})
		}
		for _, err := range r.errs {
			errs = append(errs, fmt.Sprintf("%s: %v", dirs[i], err))
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Expires.Equal(all[j].Expires) {
			return all[i].Expires.Before(all[j].Expires)
		}
		if all[i].Runbook != all[j].Runbook {
			return all[i].Runbook < all[j].Runbook
		}
		return all[i].What < all[j].What
	})
	return all, errs
}

// expiryReport is what was read of one runbook's stamp.
type expiryReport struct {
	secrets []expiry.Secret
	errs    []error
}

// expiryRow is one secret in the output.
type expiryRow struct {
	Runbook string `json:"runbook"`
	expiry.Secret
	DaysLeft      int  `json:"days_left"`
	WithinHorizon bool `json:"within_horizon"`
}

// readStamp reads every hub and PEP of a session's runbook, concurrently,
// and names the steps that rotate each secret.
func readStamp(ctx context.Context, s *session) expiryReport {
	var mu sync.Mutex
	var r expiryReport
	add := func(secrets []expiry.Secret, errs ...error) {
		mu.Lock()
		defer mu.Unlock()
		r.secrets = append(r.secrets, secrets...)
		for _, err := range errs {
			if err != nil {
				r.errs = append(r.errs, err)
			}
		}
	}
	var wg sync.WaitGroup
	for name := range s.rb.Hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			block := "hub." + name
			c, _, err := s.hubs.Hub(ctx, name)
			if err != nil {
				add(nil, fmt.Errorf("%s: %w", block, err))
				return
			}
			secrets, errs := expiry.ReadHub(ctx, block, c)
			add(secrets, errs...)
		}()
	}
	for name := range s.rb.PEPs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			block := "pep." + name
			ps, err := s.peps.PEP(ctx, name)
			if err != nil {
				add(nil, fmt.Errorf("%s: %w", block, err))
				return
			}
			secrets, err := expiry.ReadPEP(ctx, block, ps)
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = ps.Close(cctx)
			add(secrets, err)
		}()
	}
	wg.Wait()
	expiry.Cover(r.secrets, expiry.Rotations(s.rb))
	expiry.Sort(r.secrets)
	sort.Slice(r.errs, func(i, j int) bool { return r.errs[i].Error() < r.errs[j].Error() })
	return r
}

func countWithin(rows []expiryRow) int {
	n := 0
	for _, r := range rows {
		if r.WithinHorizon {
			n++
		}
	}
	return n
}

// writeExpiryTable prints the secrets as a table and a closing line that
// says what expires within the horizon and what no step rotates.
func writeExpiryTable(w io.Writer, now time.Time, horizon time.Duration, rows []expiryRow, several bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "EXPIRES\tDAYS\tWHAT\tWHERE\tSOURCE\tROTATED BY"
	if several {
		head = "RUNBOOK\t" + head
	}
	fmt.Fprintln(tw, head)
	var uncovered []string
	for _, r := range rows {
		exp := r.Expires.Format("2006-01-02")
		if !r.Exact {
			exp = "≤ " + exp
		}
		days := fmt.Sprint(r.DaysLeft)
		if r.WithinHorizon {
			days = "! " + days
		}
		by := strings.Join(r.RotatedBy, ", ")
		if by == "" {
			by = "(no step)"
			if r.WithinHorizon {
				uncovered = append(uncovered, r.What+" ("+r.Block+" "+r.Where+")")
			}
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s %s\t%s\t%s", exp, days, r.What, r.Block, r.Where, r.Source, by)
		if several {
			line = r.Runbook + "\t" + line
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	n := countWithin(rows)
	fmt.Fprintln(w)
	switch {
	case n == 0:
		fmt.Fprintf(w, "Nothing expires within %s (before %s).\n", days(horizon), now.Add(horizon).Format("2006-01-02"))
	case len(uncovered) == 0:
		fmt.Fprintf(w, "%d %s within %s (marked !); a step of the runbook rotates each.\n", n, secretsExpire(n), days(horizon))
	default:
		fmt.Fprintf(w, "%d %s within %s (marked !); no step of the runbook rotates %s.\n",
			n, secretsExpire(n), days(horizon), strings.Join(uncovered, "; "))
	}
}

func secretsExpire(n int) string {
	if n == 1 {
		return "secret expires"
	}
	return "secrets expire"
}

// days formats a horizon in days when it is a whole number of them.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// writeExpiryJSON prints the radar as JSON.
func writeExpiryJSON(w io.Writer, now time.Time, horizon time.Duration, rows []expiryRow, errs []string) {
	if rows == nil {
		rows = []expiryRow{}
	}
	if errs == nil {
		errs = []string{}
	}
	out := struct {
		Now     time.Time   `json:"now"`
		Horizon string      `json:"horizon"`
		Within  int         `json:"within_horizon"`
		Secrets []expiryRow `json:"secrets"`
		Errors  []string    `json:"errors"`
	}{now, days(horizon), countWithin(rows), rows, errs}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(w, string(b))
}

// expiryWarnings reads the expiry of every secret the runbook's hubs show
// and adds to p the warnings a reviewer needs (expiry.PlanWarnings): a
// secret a step rotates only after it expires, a secret expiring within 90
// days that no step rotates. Plan reads no PEP for this: the root CA and
// the stamp's own secrets raise the hub's expiration alerts. What cannot be
// read is a warning too, never an error: the plan itself stands.
func (s *session) expiryWarnings(ctx context.Context, p *plan.Plan) {
	if len(s.rb.Hubs) == 0 || len(p.Changes) == 0 {
		return
	}
	var mu sync.Mutex
	var secrets []expiry.Secret
	var problems []string
	var wg sync.WaitGroup
	for name := range s.rb.Hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			block := "hub." + name
			c, _, err := s.hubs.Hub(ctx, name)
			var errs []error
			var found []expiry.Secret
			if err != nil {
				errs = []error{fmt.Errorf("%s: %w", block, err)}
			} else {
				found, errs = expiry.ReadHub(ctx, block, c)
			}
			mu.Lock()
			defer mu.Unlock()
			secrets = append(secrets, found...)
			for _, err := range errs {
				problems = append(problems, err.Error())
			}
		}()
	}
	wg.Wait()
	expiry.Cover(secrets, expiry.Rotations(s.rb))
	warnings := expiry.PlanWarnings(p, secrets, s.clock.Now(), expiry.DefaultHorizon)
	sort.Strings(problems)
	for _, msg := range problems {
		warnings = append(warnings, "Expiry dates could not all be read, so this plan may miss an expiry warning: "+msg+".")
	}
	p.Warnings = append(warnings, p.Warnings...)
}
