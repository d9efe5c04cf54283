#!/usr/bin/env bash
# Review a change to a metrics project, as CI does on a pull request (README.md):
#
#   ci.sh PROJECT BASE_REF [REPORT]
#
# runs `validate --warehouse`, `lint --strict`, `check` and `diff BASE_REF --values` on PROJECT and
# writes REPORT (default report.md): a table of the steps (the output of any that failed), then the
# diff as Markdown, ready to post as a pull-request comment. Every step runs even when one fails;
# the exit code is 1 when any failed. SEMANTIC_LAYER names the program (default: semantic-layer).
set -uo pipefail

project=${1:?usage: ci.sh PROJECT BASE_REF [REPORT]}
base=${2:?usage: ci.sh PROJECT BASE_REF [REPORT]}
report=${3:-report.md}

sl() { ${SEMANTIC_LAYER:-semantic-layer} "$@"; }

status=0
rows=""
failures=""
step() {  # step LABEL COMMAND...: run it, keep its output when it fails
  local label=$1 output code
  shift
  output=$("$@" 2>&1)
  code=$?
  if [ "$code" -eq 0 ]; then
    rows+="| \`$label\` | passed |"$'\n'
  else
    status=1
    rows+="| \`$label\` | **failed** (exit $code) |"$'\n'
    failures+=$'\n'"<details><summary><code>$label</code></summary>"$'\n\n```text\n'"$output"$'\n```\n\n</details>\n'
  fi
}

step "semantic-layer validate --warehouse" sl validate -p "$project" --warehouse
step "semantic-layer lint --strict" sl lint -p "$project" --strict
step "semantic-layer check" sl check -p "$project"
diff_output=$(sl diff "$base" -p "$project" --values --format markdown 2>&1)
diff_code=$?
if [ "$diff_code" -eq 0 ]; then
  rows+="| \`semantic-layer diff $base --values\` | passed |"$'\n'
else
  status=1
  rows+="| \`semantic-layer diff $base --values\` | **failed** (exit $diff_code) |"$'\n'
fi

{
  printf '#### Pull request checks\n\n| step | result |\n|---|---|\n%s%s\n' "$rows" "$failures"
  printf '%s\n' "$diff_output"
} > "$report"
exit "$status"
