#!/usr/bin/env bash
# Installs the comparison peers (Apache ZooKeeper 3.8 and etcd 3.4, from Debian's
# packages) where apt-get is available. Idempotent: packages already present are
# left alone and apt-get update runs only when something is missing. Never fails
# the calling command: where the peers cannot be installed it says so and exits 0,
# and the comparison then runs with whatever systems it finds.
set -u

have_zookeeper() { [ -f /usr/share/zookeeper/bin/zkServer.sh ] || ls /usr/share/java/zookeeper*.jar >/dev/null 2>&1; }
have_etcd() { command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; }
have_java() { command -v java >/dev/null 2>&1; }

missing=()
have_zookeeper || missing+=(zookeeper)
have_etcd || missing+=(etcd-server)
# zookeeper depends on a JRE through Debian's alternatives; say so explicitly
# because a headless machine may carry none.
have_java || missing+=(default-jre-headless)

if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "install-peers: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq; then
      echo "install-peers: apt-get update failed; peers stay missing"
    elif ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
      echo "install-peers: apt-get install failed; peers stay missing"
    fi
    # The Debian packages start system services on install; the benchmark runs
    # its own ensembles on its own ports, so stop those where a service manager exists.
    for service in zookeeper etcd; do
      if command -v systemctl >/dev/null 2>&1; then systemctl stop "$service" >/dev/null 2>&1 || true; fi
      if command -v service >/dev/null 2>&1; then service "$service" stop >/dev/null 2>&1 || true; fi
    done
  else
    echo "install-peers: missing ${missing[*]} and apt-get is not usable here (not present or not root)"
  fi
fi

if have_zookeeper; then
  zk_version=$(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo unknown)
  echo "zookeeper: installed (Debian package ${zk_version}) at /usr/share/zookeeper"
else
  echo "zookeeper: not installed"
fi
if have_etcd; then
  etcd_version=$(etcd --version 2>/dev/null | head -n 1 || echo unknown)
  echo "etcd: installed (${etcd_version}) at $(command -v etcd)"
else
  echo "etcd: not installed"
fi
if have_java; then
  echo "java: $(java -version 2>&1 | head -n 1)"
else
  echo "java: not installed (ZooKeeper needs it)"
fi
exit 0
