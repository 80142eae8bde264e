#!/usr/bin/env bash
# Issue 21's six hand-made mutants: apply each (git apply), run the test that guards it, expect it to FAIL,
# revert. Run from a clean checkout: bash benchmarks/mutation/issue21/check.sh
set -u
cd "$(dirname "$0")/../../.."
PY=${PY:-.venv/bin/python}
declare -A TESTS=(
  [1-edge-scope]="tests/test_regressions_vector_index.py -k 'only_the_asked_scope or small_scope'"
  [2-reconcile-rebuild]="tests/test_regressions_vector_index.py -k rebuilt"
  [3-header-neutralise]="tests/test_regressions_prompt_and_model.py -k provenance"
  [4-chain-agent]="tests/test_regressions_log.py -k differ_only_by_agent"
  [5-keyless-base-url]="tests/test_regressions_prompt_and_model.py -k keyless"
  [5b-ollama-key]="tests/test_regressions_prompt_and_model.py -k ollama"
  [6-import-do-nothing]="tests/test_regressions_log.py -k older_copy"
)
status=0
for name in $(printf '%s\n' "${!TESTS[@]}" | sort); do
  git apply "benchmarks/mutation/issue21/$name.diff" || { echo "$name: cannot apply"; status=1; continue; }
  if eval "nice -n 10 $PY -m pytest -q -p no:randomly -p no:cacheprovider ${TESTS[$name]}" > "/tmp/issue21-$name.log" 2>&1; then
    echo "$name: SURVIVED (the test passed on the mutant)"; status=1
  else
    echo "$name: killed ($(grep -cE '^FAILED' "/tmp/issue21-$name.log") failed; log /tmp/issue21-$name.log)"
  fi
  git apply -R "benchmarks/mutation/issue21/$name.diff"
done
exit $status
