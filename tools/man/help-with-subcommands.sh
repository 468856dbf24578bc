#!/bin/sh
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# help2man reads one --help text, and a command with subcommands keeps most of its options in theirs. Called
# as `help-with-subcommands.sh PROGRAM --help`, this prints PROGRAM's --help and then, for every subcommand
# listed under its "Subcommands:" heading, `PROGRAM SUBCOMMAND --help` as a man page section of its own
# (help2man's "*Section*" line), without the closing paragraph it repeats from the top-level help, and with
# its "Options:" heading renamed so that help2man keeps its options in that section. Other arguments go to
# PROGRAM unchanged. CMakeLists.txt runs help2man on this to make arpipe.1 and arpipe-bench.1.
set -eu
prog=$1
shift
if [ "$*" != "--help" ]; then
    exec "$prog" "$@"
fi
name=$(basename "$prog")
# Only the text matters: a sanitizer build's leak report can make the exit status non-zero.
top=$("$prog" --help || true)
printf '%s\n' "$top"
# The last paragraph of the top-level help (the exit codes), which CLI11 repeats under every subcommand.
footer=$(printf '%s\n' "$top" | awk 'BEGIN { RS = "" } { last = $0 } END { print last }')
for sub in $(printf '%s\n' "$top" | sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'); do
    printf '\n*%s %s*\n\n' "$name" "$sub"
    "$prog" "$sub" --help |
        awk -v footer="$footer" 'BEGIN { RS = ""; ORS = "\n\n" } $0 != footer' |
        sed -e "s/^Options:\$/Options of $name $sub:/" -e 's/^Usage:/\nUsage:/'
done
