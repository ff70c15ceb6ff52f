# Sourced by scripts/test and scripts/check (from the project root): creates or reuses
# .venv and installs the package with its dev extra, again only when pyproject.toml
# changed since the last install.
[ -x .venv/bin/python ] || python3 -m venv .venv
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch .venv/.installed
fi
