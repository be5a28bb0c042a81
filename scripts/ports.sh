# Loopback port helpers, sourced by the scripts that start servers.
#   free_port            prints a port nothing listens on (127.0.0.1)
#   wait_port PORT       waits (at most 10 s) until 127.0.0.1:PORT accepts; fails otherwise

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local _
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
