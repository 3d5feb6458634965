#!/bin/sh
# Starts the job's dockerd on the socket in the volume it shares with the job's container, says "ready" on stdout
# once the daemon answers (the controller waits for that line), and lives as long as the daemon does. As uid 1000 the
# daemon is rootless; as root (a profile's `mode: privileged`, for kernels that refuse user namespaces) it is not.
set -eu
socket=/factory/docker/docker.sock
mkdir -p "$XDG_RUNTIME_DIR"
# --ip 127.0.0.1: a published port (services' `ports:`) opens on the loopback of the network namespace the job's
# container shares with this one, so no other container on the network reaches it.
daemon_command=/usr/share/docker.io/contrib/dockerd-rootless.sh
[ "$(id -u)" -ne 0 ] || daemon_command=dockerd
"$daemon_command" \
  --host "unix://$socket" \
  --data-root /var/lib/factory-docker \
  --ip 127.0.0.1 \
  --exec-root "$XDG_RUNTIME_DIR/docker" \
  --pidfile "$XDG_RUNTIME_DIR/docker.pid" \
  2>"$XDG_RUNTIME_DIR/dockerd.log" &
daemon=$!
trap 'kill -TERM "$daemon" 2>/dev/null' TERM INT
for _ in $(seq 1 600); do
  if DOCKER_HOST="unix://$socket" docker info >/dev/null 2>&1; then
    # The job's user may be any uid; only the job's container and this one mount the folder.
    chmod 0666 "$socket"
    echo "factory-docker: ready"
    wait "$daemon"
    exit $?
  fi
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.1
done
echo "factory-docker: dockerd did not answer" >&2
tail -n 20 "$XDG_RUNTIME_DIR/dockerd.log" | grep -v '^+' >&2 || true
exit 1
