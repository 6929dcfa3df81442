#!/bin/sh
# Builds every image skaffold builds, both targets (dev, then the production stage), the way
# skaffold's local docker builder does, and prints a Markdown table of build time and image size.
# Run from the repository root:
#   infra/scripts/build-images.sh                  every image
#   infra/scripts/build-images.sh posts client     some of them
# DOCKER_BUILD_FLAGS adds flags to every `docker build` (on the build machine, where no image can be
# pulled: DOCKER_BUILD_FLAGS="--network host $(../shared/tools/docker-standin --hosts)").
# Images are tagged mini-blog/<name>:dev and mini-blog/<name>:prod. Each row's time includes what
# the earlier builds left in the layer cache, as in a real dev loop; `docker builder prune` first
# for cold times.
set -eu
# skaffold's local builder uses the daemon's legacy builder unless told otherwise (useBuildkit).
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"
cd "$(dirname "$0")/../.."
images=${*:-$(node infra/scripts/registry.mjs images)}
printf '| image | target | build time | size |\n|---|---|---|---|\n'
for image in $images; do
  if [ "$image" = client ]; then set -- -f client/Dockerfile; else set -- -f Dockerfile.service --build-arg "SERVICE=$image"; fi
  for target in dev prod; do
    target_flag=""
    [ "$target" = dev ] && target_flag="--target dev"
    log="/tmp/mini-blog-build-$image-$target.log"
    start=$(date +%s)
    # shellcheck disable=SC2086 # the flags are meant to split
    if ! docker build ${DOCKER_BUILD_FLAGS:-} $target_flag "$@" -t "mini-blog/$image:$target" . >"$log" 2>&1; then
      echo "building mini-blog/$image:$target failed; see $log" >&2
      exit 1
    fi
    seconds=$(( $(date +%s) - start ))
    size=$(docker image inspect "mini-blog/$image:$target" --format '{{.Size}}' | awk '{printf "%d MB", $1 / 1000000}')
    printf '| %s | %s | %s s | %s |\n' "$image" "$target" "$seconds" "$size"
  done
done
