#!/usr/bin/env bash
# Proves that the planted-bug switches (paxos-core's `planted-bugs` feature,
# for tests and the simulator only) stay out of the production binaries
# paxos-kv and paxos-node, even when the whole workspace is built together:
#   (a) cargo tree: no `planted-bugs` feature in their normal dependency
#       graph, resolved alone and as part of the workspace;
#   (b) a release build of them alone, then of the whole workspace: the
#       binaries are byte-identical and cargo reports them fresh (a
#       workspace build resolves the same features, so it rebuilds nothing);
#   (c) the release binaries lack the marker bytes that paxos-core embeds
#       only with the feature, while a build with the feature has them (so
#       this check can fail).
# Uses target/release (or $CARGO_TARGET_DIR); leaves the production
# binaries there. Cold, on a 2-core machine shared with other builds, it took
# 174 s (three release builds); warm, about 2 s.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
PRODUCTION=(-p paxos-kv -p paxos-node)

fail() {
    echo "check-production: FAIL: $*" >&2
    exit 1
}

# The marker's text, from its one definition in paxos-core.
MARKER=$(sed -n 's/^static MARKER: .* = \*b"\(.*\)";$/\1/p' paxos-core/src/bugs.rs)
[ -n "$MARKER" ] || fail "no marker found in paxos-core/src/bugs.rs"

# Builds in release with the given arguments and prints "name path fresh"
# for every executable, from cargo's JSON messages.
build() {
    cargo build --release --message-format=json-render-diagnostics "$@" |
        grep '"executable":"' |
        sed 's/.*"executable":"\([^"]*\)".*"fresh":\(true\|false\).*/\1 \2/' |
        while read -r path fresh; do echo "$(basename "$path") $path $fresh"; done
}

# Prints "sha256 name" for every executable of a build listing, by name.
sums() {
    while read -r name path _; do echo "$(sha256sum "$path" | cut -d' ' -f1) $name"; done |
        sort -k2
}

has_marker() {
    grep -q -a -F "$MARKER" "$1"
}

echo "== (a) cargo tree: no planted-bugs feature in the production graph"
for scope in "${PRODUCTION[*]}" "--workspace"; do
    # shellcheck disable=SC2086
    n=$(cargo tree $scope -e features,normal,build | grep -c 'feature "planted-bugs"' || true)
    echo "cargo tree $scope -e features,normal,build: $n edge(s) to feature \"planted-bugs\""
    if [ "$n" != 0 ]; then
        # shellcheck disable=SC2086
        cargo tree $scope -e features,normal,build -i paxos-core >&2
        fail "a production build would compile the planted bugs (who enables it: above)"
    fi
done
n=$(cargo tree -p paxos-sim -e features | grep -c 'feature "planted-bugs"' || true)
echo "cargo tree -p paxos-sim -e features (dev-dependencies included): $n edge(s)"
[ "$n" != 0 ] || fail "the simulator's tests no longer enable planted-bugs (or this grep is wrong)"

echo "== (b) release build of ${PRODUCTION[*]} alone, then of the workspace"
alone=$(build "${PRODUCTION[@]}")
[ -n "$alone" ] || fail "the build listed no executables"
before=$(sums <<<"$alone")
echo "$before"
workspace=$(build --workspace)
after=$(while read -r name _; do
    line=$(grep "^$name " <<<"$workspace") || fail "the workspace build made no $name"
    sums <<<"$line"
    [ "${line##* }" = true ] || echo "(cargo rebuilt $name)"
done <<<"$alone" | sort -k2)
if [ "$before" != "$after" ]; then
    echo "after the workspace build:" >&2
    echo "$after" >&2
    echo "features of the production graph's packages, alone (<) and in the workspace (>):" >&2
    features() { cargo tree "$@" -e normal,build --prefix none -f '{p} [{f}]' | sed '/^$/d; s/ (\*)//' | sort -u; }
    prod=$(features "${PRODUCTION[@]}")
    diff <(echo "$prod") <(features --workspace | grep -F -f <(awk '{print $1" "$2" "}' <<<"$prod")) |
        grep '^[<>]' >&2 || true
    fail "a workspace build changes the production binaries"
fi
[ "$(build "${PRODUCTION[@]}" | sums)" = "$before" ] ||
    fail "building ${PRODUCTION[*]} again after the workspace changed them"
echo "byte-identical and fresh after --workspace, and again after a second build alone"

echo "== (c) marker \"$MARKER\""
while read -r name path _; do
    if has_marker "$path"; then fail "$name contains the planted-bugs marker"; fi
    echo "$name: no marker"
done <<<"$alone"
# The same binary built with the feature must carry it. The build overwrites
# the binary in target/release, so the production build is redone after it
# (cargo copies the cached artifact back), whatever happens.
trap 'build "${PRODUCTION[@]}" >/dev/null' EXIT
planted=$(build -p paxos-node --features paxos-core/planted-bugs | grep '^paxos-node ')
has_marker "$(cut -d' ' -f2 <<<"$planted")" ||
    fail "paxos-node built with --features paxos-core/planted-bugs lacks the marker: (c) proves nothing"
echo "paxos-node built with --features paxos-core/planted-bugs: marker found"
trap - EXIT
[ "$(build "${PRODUCTION[@]}" | sums)" = "$before" ] || fail "the production binaries did not come back"
echo "production binaries restored (same hashes)"

echo "check-production: OK in $((SECONDS - start)) s"
