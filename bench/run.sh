#!/usr/bin/env bash
# Runs Vigie's benchmarks and prints the table (see bench/main.go for what is measured).
# Examples: bench/run.sh                       (1M persons, SQLite and PostgreSQL)
#           bench/run.sh --persons 100000 --db sqlite --duration 5s
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench "$@"
