#!/usr/bin/env bash
# history.sh measures how the journals of past runs weigh on plan and apply:
# both read every journal under .runbook/runs (to find an unfinished run to
# resume, and each step's last success), so their cost grows with the
# history of the runbook. It applies one generated runbook of wait steps
# again and again in the same directory and times plan -simulate and
# apply -simulate -auto-approve after 0, 5, 10, 20 and 40 earlier applies.
# It prints a Markdown table on stdout and its progress on stderr.
#
# Usage: bench/history.sh
#
# Environment:
#   STEPS=n       steps of the runbook (default 1000)
#   SHAPE=s       chain, wide or layered (default layered)
#   RUNS="..."    the history sizes to measure at (default "0 5 10 20 40")
#   SIM_PAUSE=d   the warp clock's pause (default 1ms)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
steps=${STEPS:-1000}
shape=${SHAPE:-layered}
read -r -a at <<<"${RUNS:-0 5 10 20 40}"
export RUNBOOK_SIM_PAUSE=${SIM_PAUSE:-1ms} NO_COLOR=1

timer=/usr/bin/time
if [[ ! -x $timer ]]; then
	echo "$timer is missing: this script needs it" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/runbook-history.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "building the CLI" >&2
(cd "$root" && go build -o "$work/runbook" ./cmd/runbook)
rb=$work/runbook
dir=$work/rb
mkdir -p "$dir"
# A hub for apply to lock (it refuses a runbook that names no stamp); the
# wait steps never contact it.
# Every step waits 1s, with retries for the warp clock's race (see
# plan-apply.sh).
body=$'duration = "1s"\n  retry {\n    attempts = 3\n  }'
{
	cat <<'EOF'
variable "client_secret" {
  type      = string
  sensitive = true
  default   = "bench-placeholder"
}

hub "bench" {
  endpoint = "https://adminmanagement.local.azurestack.external"
  auth {
    method        = "client_secret"
    tenant        = "adfs"
    client_id     = "runbook-operator"
    client_secret = var.client_secret
  }
}

EOF
	"$rb" gen -shape "$shape" -steps "$steps" -type wait -body "$body"
} >"$dir/main.runbook.hcl"

# run CMD... runs the CLI in the runbook's directory and prints "seconds
# CPU-seconds MB" (CPU: user and system); it exits the script if the command
# fails.
run() {
	if ! (cd "$dir" && $timer -f '%e %U %S %M' -o "$work/time.txt" "$rb" "$@" >"$work/out.txt" 2>&1); then
		echo "FAILED: runbook $*" >&2
		tail -20 "$work/out.txt" >&2
		exit 1
	fi
	awk '{ printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$work/time.txt"
}

(cd "$dir" && "$rb" plan -simulate . >/dev/null) # the simulated stamp's state
applied=0
rows=()
for k in "${at[@]}"; do
	while ((applied < k)); do
		echo "apply $((applied + 1))" >&2
		run apply -simulate -auto-approve . >/dev/null
		applied=$((applied + 1))
	done
	read -r ps pc pm < <(run plan -simulate .)
	bytes=$(cat "$dir"/.runbook/runs/*.jsonl 2>/dev/null | wc -c || true)
	# The timed apply adds a run: count it from here on.
	read -r as ac am < <(run apply -simulate -auto-approve .)
	applied=$((applied + 1))
	rows+=("| $k | $((bytes / 1024)) | $ps | $pc | $pm | $as | $ac | $am |")
done

echo "$shape runbook of $steps wait steps, $(nproc) CPUs, RUNBOOK_SIM_PAUSE=$RUNBOOK_SIM_PAUSE; load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| earlier runs | journals KB | plan s | CPU s | MB | apply s | CPU s | MB |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
