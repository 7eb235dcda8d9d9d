# Finds JDK 25 and prints its home; sourced by the launchers and the Makefile.
# Order: $VESSEL_JAVA_HOME, $JAVA_HOME if it is 25+, Temurin 25 in /usr/lib/jvm, any JDK 25+ there.
vessel_find_jdk() {
    local c v
    for c in "${VESSEL_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
        [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
        v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
        if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    echo "vessel: no JDK 25 found; install Temurin 25 or set VESSEL_JAVA_HOME" >&2
    return 1
}
