#!/usr/bin/env bash
# plan-apply.sh measures the runbook CLI end to end on generated runbooks:
# wall time and peak memory (maximum resident set size) of
#
#   runbook validate                        parse, decode, graph, step schemas
#   runbook plan -simulate                  the above, plus the simulated stamp,
#                                           planning every step and the text plan
#   runbook apply -simulate -auto-approve   the above, plus running every step
#                                           with its journal (fsync per batch)
#   runbook plan -simulate, again           the plan after the apply, which also
#                                           reads and verifies the run's journal
#
# for runbooks of wait steps (duration = "1s", up to three attempts) in three
# shapes: chain (each step depends on the one before), wide (no dependencies)
# and layered (layers of ten steps, each depending on three of the layer
# before). The simulated
# stamp's warp clock skips the waits after RUNBOOK_SIM_PAUSE (1ms here) of
# idleness, so apply measures the engine, the journal and the CLI rather
# than the waits. It prints a Markdown table on stdout and its progress on
# stderr.
#
# Usage: bench/plan-apply.sh            100, 1,000, 5,000 and 10,000 steps
#        QUICK=1 bench/plan-apply.sh    100 and 1,000 steps only
#
# Environment:
#   QUICK=1       only 100 and 1,000 steps
#   SIZES="..."   the step counts (overrides QUICK)
#   SHAPES="..."  the shapes (default "chain wide layered")
#   SIM_PAUSE=d   the warp clock's pause (default 1ms)
#   REPEAT=n      runs per row, each in a fresh directory, reporting medians
#                 (default 3 up to 1,000 steps, 1 above)
#   FSYNCS=1      also count the apply's fsync calls with strace, in a
#                 separate run (strace slows it, so it is not timed)
#   KEEP=1        keep the temporary directory and print its path
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n "${SIZES:-}" ]]; then
	read -r -a sizes <<<"$SIZES"
elif [[ "${QUICK:-}" == 1 ]]; then
	sizes=(100 1000)
else
	sizes=(100 1000 5000 10000)
fi
read -r -a shapes <<<"${SHAPES:-chain wide layered}"
export RUNBOOK_SIM_PAUSE=${SIM_PAUSE:-1ms}
# No colour in the output that expect reads.
export NO_COLOR=1

work=$(mktemp -d "${TMPDIR:-/tmp}/runbook-bench.XXXXXX")
cleanup() {
	if [[ "${KEEP:-}" == 1 ]]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

timer=/usr/bin/time
if [[ ! -x $timer ]]; then
	echo "note: $timer is missing: timing with bash's time, without peak memory" >&2
	timer=
fi
if [[ "${FSYNCS:-}" == 1 ]] && ! command -v strace >/dev/null; then
	echo "note: strace is missing: fsyncs are not counted" >&2
	FSYNCS=
fi

echo "building the CLI" >&2
(cd "$root" && go build -o "$work/runbook" ./cmd/runbook)
rb=$work/runbook

# Every step waits 1s on the simulated stamp's warp clock.
: >"$work/header.hcl"
body='duration = "1s"'

# measure DIR CMD... runs the CLI in DIR and sets secs (wall), cpu (user and
# system) and mb (peak RSS in MB); cpu and mb are "n/a" without
# /usr/bin/time. It exits the script if the command fails.
measure() {
	local dir=$1
	shift
	local out=$work/out.txt tv=$work/time.txt
	if [[ -n $timer ]]; then
		if ! (cd "$dir" && $timer -v -o "$tv" "$rb" "$@" >"$out" 2>&1); then
			echo "FAILED: runbook $* in $dir" >&2
			tail -20 "$out" >&2
			exit 1
		fi
		# "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23"
		secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {
			n = split($2, p, ":"); s = 0
			for (i = 1; i <= n; i++) s = s * 60 + p[i]
			printf "%.2f", s }' "$tv")
		mb=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tv")
		cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$tv")
	else
		local TIMEFORMAT=%R
		if ! { time (cd "$dir" && "$rb" "$@" >"$out" 2>&1); } 2>"$tv"; then
			echo "FAILED: runbook $* in $dir" >&2
			tail -20 "$out" >&2
			exit 1
		fi
		secs=$(tail -1 "$tv")
		mb=n/a cpu=n/a
	fi
}

# expect PATTERN checks the last command's output.
expect() {
	if ! grep -q -- "$1" "$work/out.txt"; then
		echo "unexpected output, wanted /$1/:" >&2
		tail -20 "$work/out.txt" >&2
		exit 1
	fi
}

# per_step SECS N prints SECS/N in milliseconds.
per_step() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.2f", s * 1000 / n }'; }

header="| shape | steps | file KB | runs | validate s | MB | plan s | MB | apply s | CPU s | MB | apply ms/step | (apply−plan) ms/step | plan again s | retried |"
rule="| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
if [[ "${FSYNCS:-}" == 1 ]]; then
	header+=" apply fsyncs | journal records |"
	rule+=" ---: | ---: |"
fi
# The simulated stamp keeps its state (root CA, credentials) under
# .runbook/sim beside the runbook, and the first -simulate run of a directory
# creates it. Every measured directory starts from a copy of one made here,
# so that the first plan is not charged for it.
mkdir -p "$work/warm"
"$rb" gen -shape wide -steps 1 -body "$body" >"$work/warm/main.runbook.hcl"
(cd "$work/warm" && "$rb" plan -simulate . >/dev/null)

# median N... prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

rows=()
# bench SHAPE N measures one generated runbook, reps times, each in a fresh
# directory (a second apply in the same one would also read the first one's
# journal), and appends a row of medians.
bench() {
	local shape=$1 n=$2 reps=${REPEAT:-}
	if [[ -z $reps ]]; then
		reps=1
		if ((n <= 1000)); then
			reps=3
		fi
	fi
	local vs=() vm=() ps=() pm=() as=() am=() ac=() rs=() kb rep dir retried=0
	for ((rep = 1; rep <= reps; rep++)); do
		dir=$work/$shape-$n-$rep
		mkdir -p "$dir"
		cp -R "$work/warm/.runbook" "$dir/"
		{
			cat "$work/header.hcl"
			"$rb" gen -shape "$shape" -steps "$n" -type wait -body "$body"
		} >"$dir/main.runbook.hcl"
		kb=$(( $(wc -c <"$dir/main.runbook.hcl") / 1024 ))
		echo "$shape $n ($rep/$reps): validate, plan, apply, plan again" >&2
		measure "$dir" validate .
		expect "valid: $n steps\?[ ,]"
		vs+=("$secs") vm+=("$mb")
		measure "$dir" plan -simulate .
		expect "Plan: $n steps\? will run"
		ps+=("$secs") pm+=("$mb")
		measure "$dir" apply -simulate -auto-approve .
		expect "Apply complete: $n succeeded, 0 unchanged, 0 failed"
		as+=("$secs") am+=("$mb") ac+=("$cpu")
		retried=$((retried + $(cat "$dir"/.runbook/runs/*.jsonl | grep -c '"type":"step_intent".*"attempt":[2-9]' || true)))
		measure "$dir" plan -simulate .
		expect "Plan: $n steps\? will run"
		rs+=("$secs")
		[[ "${KEEP:-}" == 1 ]] || rm -rf "$dir"
	done
	local v_s p_s a_s exec_ms
	v_s=$(median "${vs[@]}") p_s=$(median "${ps[@]}") a_s=$(median "${as[@]}")
	exec_ms=$(awk -v a="$a_s" -v p="$p_s" -v n="$n" 'BEGIN { d = a - p; if (d < 0) d = 0; printf "%.2f", d * 1000 / n }')
	local apply_ms
	apply_ms=$(per_step "$a_s" "$n")
	if ((n == 1)); then
		apply_ms=— exec_ms=— # the fixed cost: per step means nothing
	fi
	local row="| $shape | $n | $kb | $reps | $v_s | $(median "${vm[@]}") | $p_s | $(median "${pm[@]}") | $a_s | $(median "${ac[@]}") | $(median "${am[@]}") | $apply_ms | $exec_ms | $(median "${rs[@]}") | $retried |"
	if [[ "${FSYNCS:-}" == 1 ]]; then
		echo "$shape $n: apply under strace (fsyncs)" >&2
		local fdir=$work/$shape-$n-fsync syncs records
		mkdir -p "$fdir"
		cp -R "$work/warm/.runbook" "$fdir/"
		{
			cat "$work/header.hcl"
			"$rb" gen -shape "$shape" -steps "$n" -type wait -body "$body"
		} >"$fdir/main.runbook.hcl"
		(cd "$fdir" && strace -f --seccomp-bpf -c -e trace=fsync -o "$work/strace.txt" \
			"$rb" apply -simulate -auto-approve . >"$work/out.txt" 2>&1)
		expect "Apply complete: $n succeeded"
		syncs=$(awk '$NF == "fsync" { print $4 }' "$work/strace.txt")
		records=$(cat "$fdir"/.runbook/runs/*.jsonl | wc -l)
		row+=" ${syncs:-0} | $records |"
		[[ "${KEEP:-}" == 1 ]] || rm -rf "$fdir"
	fi
	rows+=("$row")
}

start=$SECONDS
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# One step: the fixed cost of each command (process start, the simulated
# stamp's servers and their keys, the journal's files).
bench chain 1
for n in "${sizes[@]}"; do
	for shape in "${shapes[@]}"; do
		bench "$shape" "$n"
	done
done

echo "runbook CLI, $(nproc) CPUs, $(go version | awk '{print $3}'), RUNBOOK_SIM_PAUSE=$RUNBOOK_SIM_PAUSE, wait steps of 1s;" \
	"$((SECONDS - start)) s in all; load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after." \
	"Times are medians of the runs, in seconds (CPU: user and system);" \
	"MB is the peak resident set size."
echo
echo "$header"
echo "$rule"
printf '%s\n' "${rows[@]}"
