"""pytest plugin: run kazoo's own test suite (kazoo.tests) against an
already-running ZooKeeper-wire ensemble instead of the Java cluster that
kazoo's harness would start itself.

Load it with ``-p corral_kazoo_plugin`` (this directory on PYTHONPATH) and
give the ensemble in the environment:

  KAZOO_EXTERNAL_HOSTS  comma-separated host:port client addresses (required)
  KAZOO_TARGET          name of the target, selects the target-specific
                        entries of skips.txt (default "external")
  KAZOO_SKIPS_FILE      skip list (default: skips.txt beside this file)

What it does:

* replaces ``kazoo.testing.harness.get_global_cluster`` with one that returns
  an ``ExternalCluster``: one ``ExternalServer`` per address, always
  "running". ``KazooTestHarness.setup_zookeeper`` then works unchanged: it
  connects to ``",".join(addresses) + "/kazootests<uuid>"``, a fresh chroot
  per test, exactly as with kazoo's own cluster.
* the servers are not ours to stop: ``stop()/run()/reset()/destroy()`` and
  ``cluster.stop()/start()/terminate()/reset()`` raise ``HarnessControlError``
  so a test that tries is an error (never a silent skip). Such tests are
  listed in skips.txt, one reason each.
* except for PROXIED_TESTS, whose only server control is "cut the client off
  server i, then let it back": for those every server is reached through a
  loopback TCP proxy whose stop()/run() closes/reopens it (see TcpProxy).
* marks every test that skips.txt lists (for this target) as skipped with
  the listed reason, and prints the list in the terminal summary. An entry
  that matches no collected test is reported as stale.
"""
import fnmatch
import os
import socket
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

_STATE = {"cluster": None, "skips": [], "target": "external", "used": set()}


class HarnessControlError(RuntimeError):
    """A test tried to stop/start a server of the external ensemble."""


def _refuse(what):
    raise HarnessControlError(
        "%s: the ensemble under test is external (KAZOO_EXTERNAL_HOSTS); the "
        "harness cannot stop or start its servers. List this test in "
        "test/kazoo/skips.txt with a reason." % what)


# Tests whose only server control is "stop server i, later run it again",
# to make the client lose its connection to that one server and see it
# refuse new ones. For these the plugin puts a TCP proxy (TcpProxy) in front
# of every server for the duration of the test: server.address is the
# proxy's, server.stop() closes the proxy's listener and every connection
# through it (the client sees a reset, then "connection refused", just as
# with a stopped server), server.run() listens again on the same port. The
# ensemble behind keeps running, as the rest of a real ensemble does while
# one server is down: sessions are kept by the ensemble either way.
# (test_read_only is NOT here: it needs a server that really lost quorum.)
PROXIED_TESTS = (
    "*::test_update_host_list",
    "*::test_request_queuing_session_recovered",
    "*::test_request_queuing_session_expired",
)


class TcpProxy(object):
    """A byte-for-byte loopback TCP forwarder that can be 'stopped'."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, int(upstream_port))
        self.port = None
        self._listener = None
        self._conns = set()
        self._lock = threading.Lock()
        self.listening = False

    def start(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self.listening = True
        t = threading.Thread(target=self._accept, args=(listener,),
                             name="kazoo-proxy-accept", daemon=True)
        t.start()

    def _accept(self, listener):
        while True:
            try:
                down, _ = listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=5)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            for sock in (down, up):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if not self.listening:
                    down.close()
                    up.close()
                    continue
                self._conns.add(down)
                self._conns.add(up)
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b),
                                 name="kazoo-proxy-pump", daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._close(sock)

    def _close(self, sock):
        with self._lock:
            self._conns.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def stop(self):
        """Like a server that went down: no listener, every connection reset."""
        with self._lock:
            self.listening = False
            conns = list(self._conns)
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for sock in conns:
            self._close(sock)


class ExternalServer(object):
    """Stands in for kazoo.testing.common.ManagedZooKeeper."""

    def __init__(self, index, host, port):
        self.index = index
        self.host = host
        self.client_port = int(port)
        self.proxy = None  # a TcpProxy while a PROXIED_TESTS test runs

    @property
    def address(self):
        if self.proxy is not None:
            return "127.0.0.1:%d" % self.proxy.port
        return "%s:%s" % (self.host, self.client_port)

    @property
    def running(self):
        return self.proxy is None or self.proxy.listening

    def run(self):
        if self.proxy is None:
            _refuse("server %d run()" % self.index)
        if not self.proxy.listening:
            self.proxy.start()

    def stop(self):
        if self.proxy is None:
            _refuse("server %d stop()" % self.index)
        self.proxy.stop()

    def reset(self):
        _refuse("server %d reset()" % self.index)

    def destroy(self):
        _refuse("server %d destroy()" % self.index)

    def __repr__(self):
        return "ExternalServer(%s)" % self.address


class ExternalCluster(object):
    """Stands in for kazoo.testing.common.ZookeeperCluster."""

    def __init__(self, hosts):
        self._servers = []
        for index, hp in enumerate(hosts):
            host, _, port = hp.rpartition(":")
            if not host or not port.isdigit():
                raise pytest.UsageError(
                    "KAZOO_EXTERNAL_HOSTS: %r is not host:port" % hp)
            self._servers.append(ExternalServer(index, host, port))

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def __len__(self):
        return len(self._servers)

    def start(self):
        # setup_zookeeper only calls this when a server is not running, which
        # never happens here; anything else calling it wants control.
        _refuse("cluster start()")

    def stop(self):
        _refuse("cluster stop()")

    def terminate(self):
        _refuse("cluster terminate()")

    def reset(self):
        _refuse("cluster reset()")


def load_skips(path):
    """skips.txt: ``<test id glob> | <targets> | <reason>`` per line.

    The test id is ``<file>::<Class>::<test>`` (file name only, as in
    kazoo/tests/), fnmatch globs allowed. <targets> is ``all`` or a
    comma-separated list of target names (zookeeper, corral, external).
    Blank lines and lines starting with # are ignored.
    """
    entries = []
    with open(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|", 2)]
            if len(parts) != 3 or not all(parts):
                raise pytest.UsageError(
                    "%s:%d: expected '<test id> | <targets> | <reason>'"
                    % (path, lineno))
            pattern, targets, reason = parts
            targets = set(t.strip() for t in targets.split(","))
            entries.append((pattern, targets, reason, lineno))
    return entries


def item_key(item):
    """``test_client.py::TestClient::test_x`` for any rootdir."""
    parts = item.nodeid.split("::")
    return "::".join([os.path.basename(parts[0])] + parts[1:])


def pytest_addoption(parser):
    group = parser.getgroup("corral-kazoo")
    group.addoption("--kazoo-list-skips", action="store_true",
                    help="print the skip list for this target and exit")


def pytest_configure(config):
    hosts = [h.strip() for h in
             os.environ.get("KAZOO_EXTERNAL_HOSTS", "").split(",") if h.strip()]
    if not hosts and not config.getoption("--kazoo-list-skips"):
        raise pytest.UsageError(
            "corral_kazoo_plugin: set KAZOO_EXTERNAL_HOSTS=host:port[,...]")
    _STATE["target"] = os.environ.get("KAZOO_TARGET", "external")
    skips_file = os.environ.get("KAZOO_SKIPS_FILE",
                                os.path.join(HERE, "skips.txt"))
    _STATE["skips"] = load_skips(skips_file)

    cluster = ExternalCluster(hosts)
    _STATE["cluster"] = cluster

    import kazoo.testing.harness as harness

    def get_global_cluster():
        return cluster

    harness.get_global_cluster = get_global_cluster
    harness.CLUSTER = cluster


def _proxied(key):
    return any(fnmatch.fnmatchcase(key, p) for p in PROXIED_TESTS)


def pytest_runtest_setup(item):
    cluster = _STATE["cluster"]
    if cluster is None or not _proxied(item_key(item)):
        return
    for server in cluster:
        server.proxy = TcpProxy(server.host, server.client_port)
        server.proxy.start()


def pytest_runtest_teardown(item):
    cluster = _STATE["cluster"]
    if cluster is None:
        return
    for server in cluster:
        if server.proxy is not None:
            server.proxy.stop()
            server.proxy = None


def _skip_for(key):
    target = _STATE["target"]
    for pattern, targets, reason, lineno in _STATE["skips"]:
        if ("all" in targets or target in targets) and \
                fnmatch.fnmatchcase(key, pattern):
            _STATE["used"].add(lineno)
            return reason
    return None


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        reason = _skip_for(item_key(item))
        if reason is not None:
            item.add_marker(pytest.mark.skip(
                reason="[skips.txt] " + reason))
    if config.getoption("--kazoo-list-skips"):
        target = _STATE["target"]
        for item in items:
            reason = _skip_for(item_key(item))
            if reason is not None:
                print("SKIP %s  -- %s" % (item_key(item), reason))
        for pattern, targets, reason, lineno in _STATE["skips"]:
            if ("all" in targets or target in targets) and \
                    lineno not in _STATE["used"]:
                print("STALE skips.txt:%d %s matches no test" % (lineno, pattern))
        items[:] = []


def pytest_report_header(config):
    cluster = _STATE["cluster"]
    return "kazoo external ensemble: target=%s hosts=%s" % (
        _STATE["target"], ",".join(s.address for s in cluster) if cluster else "-")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    target = _STATE["target"]
    tr = terminalreporter
    listed = [(p, r, n) for p, t, r, n in _STATE["skips"]
              if "all" in t or target in t]
    if not listed:
        return
    tr.write_sep("-", "skips.txt entries for target %s" % target)
    for pattern, reason, lineno in listed:
        mark = "" if lineno in _STATE["used"] else "   (STALE: matched no collected test)"
        tr.write_line("%s -- %s%s" % (pattern, reason, mark))
