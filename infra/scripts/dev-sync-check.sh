#!/bin/sh
# Shows that a `common/src` edit reaches every running dev container the way `skaffold dev` sends
# it, without an image build: skaffold packs each changed file into a tar stream whose entry is the
# file's path in the container (no directory entries) and runs, in the container and as its user,
#   tar xmf - -C / --no-same-owner
# (kubectl exec -i on a cluster; docker exec -i here, which is the same as far as tar is concerned).
# For each dev image this starts a container, replays that sync of common/src/registry.ts with a
# marker comment appended, and waits until the file is in place and, in the backend images, tsc
# has compiled it into common/dist (which node --watch then restarts on); in the client image it
# also replays an edit of client/index.html, which lands in /app/client itself. The repository is not
# changed: the edited copy lives in a temporary folder.
# Needs the dev images (infra/scripts/build-images.sh). From the repository root:
#   infra/scripts/dev-sync-check.sh                      every image
#   infra/scripts/dev-sync-check.sh posts client         some of them
set -eu
cd "$(dirname "$0")/../.."
images=${*:-$(node infra/scripts/registry.mjs images)}
file=common/src/registry.ts
marker="sync-check $(date +%s)-$$"
work=$(mktemp -d /tmp/mini-blog-sync.XXXX)
containers=""
cleanup() {
  # shellcheck disable=SC2086 # one name per word
  [ -z "$containers" ] || docker rm -f $containers >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The credentials the services read at start, as the Secret's volume provides them on a cluster.
mkdir -p "$work/credentials"
for principal in $(node infra/scripts/registry.mjs principals); do
  head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$work/credentials/$principal"
done
chmod -R a+rX "$work/credentials"

# The edited file, under the path it has in the container (/app keeps the repository layout).
mkdir -p "$work/tree/app/$(dirname "$file")"
cp "$file" "$work/tree/app/$file"
printf '// %s\n' "$marker" >>"$work/tree/app/$file"

# Polls a check in the container once a second for up to $2 seconds (by the clock: a docker exec
# on a busy machine takes seconds of its own).
wait_in() {
  container=$1 seconds=$2 check=$3
  until=$(($(date +%s) + seconds))
  while [ "$(date +%s)" -le "$until" ]; do
    docker exec "$container" sh -c "$check" >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

# Polls the container's log once a second for up to $2 seconds until it has the text $3.
wait_log() {
  container=$1 seconds=$2 text=$3
  until=$(($(date +%s) + seconds))
  while [ "$(date +%s)" -le "$until" ]; do
    docker logs "$container" 2>&1 | grep -q "$text" && return 0
    sleep 1
  done
  return 1
}

status=0
for image in $images; do
  container="mini-blog-sync-$image-$$"
  docker run -d --name "$container" --network none \
    -v "$work/credentials:/etc/mini-blog/credentials:ro" -e CREDENTIALS_DIR=/etc/mini-blog/credentials \
    "mini-blog/$image:dev" >/dev/null
  containers="$containers $container"
  # The edit must be a change to what tsc -w watches: wait until its first pass is over (the image's
  # common/dist is there from the start, so that file says nothing). Vite needs no wait: the client's
  # check is only that the files land.
  if [ "$image" != client ] && ! wait_log "$container" 600 'Watching for file changes'; then
    echo "$image: tsc -w did not start watching within 600 s; its log:" >&2
    docker logs --tail 20 "$container" >&2
    status=1
    continue
  fi
  started=$(date +%s)
  # The replay: a tar stream with the one file entry, extracted by the container's own user.
  if ! tar -C "$work/tree" --no-recursion -cf - "app/$file" | docker exec -i "$container" tar xmf - -C / --no-same-owner; then
    echo "$image: tar could not write /app/$file as $(docker exec "$container" id -un)" >&2
    status=1
    continue
  fi
  if ! wait_in "$container" 5 "grep -q '$marker' /app/$file"; then
    echo "$image: /app/$file does not have the edit" >&2
    status=1
    continue
  fi
  if [ "$image" = client ]; then
    # client/index.html lands in /app/client itself, a folder the image had to hand to uid 1000.
    mkdir -p "$work/tree/app/client"
    cp client/index.html "$work/tree/app/client/index.html"
    printf '<!-- %s -->\n' "$marker" >>"$work/tree/app/client/index.html"
    if tar -C "$work/tree" --no-recursion -cf - app/client/index.html | docker exec -i "$container" tar xmf - -C / --no-same-owner \
      && wait_in "$container" 5 "grep -q '$marker' /app/client/index.html"; then
      echo "$image: /app/$file and /app/client/index.html synced (Vite serves common's compiled dist from the image; nothing compiles the synced source here)"
    else
      echo "$image: tar could not replace /app/client/index.html" >&2
      status=1
    fi
  elif wait_in "$container" 300 "grep -q '$marker' /app/common/dist/registry.js"; then
    echo "$image: /app/$file synced and compiled into /app/common/dist/registry.js by tsc -w within $(($(date +%s) - started)) s"
  else
    echo "$image: tsc did not compile the synced file within 300 s (on a busy machine an incremental compile of common takes minutes); its log:" >&2
    docker logs --tail 20 "$container" >&2
    status=1
  fi
done
exit "$status"
