#!/bin/sh
# Compile the scheduler's policy core (scheduler/core, pure Python) with mypyc inside DIR, a
# copy of the project: the image's build stage (/build), `make compiled-core`'s .build folder,
# or the temporary copy of tests/scheduler/test_compiled_core.py.
#
#   ops/compile-core.sh DIR        (PYTHON=... picks the interpreter; it needs mypy + setuptools)
#
# Never run it on a working checkout: an extension module shadows its .py file for every
# importer, so later edits of the sources would be silently ignored until the next build.
# Both builds decide identically (`python -m scheduler.bench fingerprint`; tests/scheduler/
# test_compiled_core.py checks it in `make test`). Decision 0002, "Consequences".
set -eu
dir=${1:?usage: ops/compile-core.sh DIR}
python=${PYTHON:-python}
case $python in  # a relative interpreter path is meant from here, not from DIR
  */*) python=$(cd "$(dirname "$python")" && pwd)/$(basename "$python") ;;
esac
cd "$dir"
if [ -e .git ]; then
  echo "compile-core: $dir is a git checkout; compile a copy (make compiled-core)" >&2
  exit 2
fi
if ! "$python" -c 'import mypyc, setuptools'; then
  echo "compile-core: $python cannot import mypyc and setuptools (PYTHON=.venv/bin/python?)" >&2
  exit 2
fi
# every module but the package's __init__ (it only re-exports, and reports the build)
modules=$(ls scheduler/core/*.py | grep -v '/__init__\.py$')
# a config of its own: the core imports only the standard library, so the build needs mypy
# and setuptools, not the project's mypy plugins (pydantic) or its other dependencies
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf '[mypy]\npython_version = 3.11\n' >"$config"
# shellcheck disable=SC2086  # one argument per module
"$python" -m mypyc --config-file "$config" $modules >compile-core.log 2>&1 \
  || { cat compile-core.log >&2; exit 1; }
rm -rf build compile-core.log
"$python" -c 'import sys; from scheduler.core import core_build; b = core_build(); print("scheduler.core:", b); sys.exit(b != "compiled")'
