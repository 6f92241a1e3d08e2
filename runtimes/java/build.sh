#!/bin/sh
# Build Lamina's Java runtime jar: runtimes/java/build.sh OUT_JAR
# Needs only a JDK (javac + jar, release 17); no Maven, no dependencies.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_JAR" >&2
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
out=$1
case "$out" in
    /*) ;;
    *) out="$(pwd)/$out" ;;
esac

JAVAC=${JAVAC:-javac}
JAR=${JAR:-jar}
if [ -n "${JAVA_HOME:-}" ]; then
    [ -x "$JAVA_HOME/bin/javac" ] && JAVAC="$JAVA_HOME/bin/javac"
    [ -x "$JAVA_HOME/bin/jar" ] && JAR="$JAVA_HOME/bin/jar"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

find "$here/src" -name '*.java' > "$work/sources.txt"
"$JAVAC" --release 17 -encoding UTF-8 -nowarn -Xlint:none -d "$work/classes" @"$work/sources.txt"

mkdir -p "$(dirname "$out")"
rm -f "$out"
"$JAR" --create --file "$out" --main-class lamina.runtime.Bootstrap -C "$work/classes" .
echo "built $out"
