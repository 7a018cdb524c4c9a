package dev.derrick.local;

import dev.derrick.api.ExecResult;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.local.internal.LocalWorkspace;
import dev.derrick.local.internal.net.UserModeNetwork;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Network per phase in sandboxed local workspaces (issue 11, item 3) against real bubblewrap and slirp4netns. The only
 * servers are this test's, on the host's 127.0.0.1 and on 127.0.0.2 (loopback-only), and one abstract unix socket
 * of the host's network namespace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class SandboxNetworkIT {
    final Path tmp = LocalProviderIT.createRoot();
    final String abstractName = "derrick-net-it-" + UUID.randomUUID();
    Server local;
    Server other;
    Process abstractListener;
    WorkspaceProvider provider;
    WorkspaceProvider hostLoopback;

    /** A TCP server that greets and counts its connections. */
    static final class Server implements AutoCloseable {
        final ServerSocket socket;
        final AtomicInteger accepted = new AtomicInteger();

        Server(String address) throws IOException {
            socket = new ServerSocket();
            socket.bind(new InetSocketAddress(InetAddress.getByName(address), 0), 50);
            Thread t = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (Socket s = socket.accept(); OutputStream out = s.getOutputStream()) {
                        accepted.incrementAndGet();
                        out.write("hello from the host\n".getBytes(StandardCharsets.UTF_8));
                    } catch (IOException e) {
                        // closed
                    }
                }
            }, "net-it-server-" + address);
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    @BeforeAll
    void start() throws Exception {
        local = new Server("127.0.0.1");
        other = new Server("127.0.0.2");
        // an abstract unix socket lives in the host's network namespace: a sandbox with its own must not reach it
        abstractListener = new ProcessBuilder("/usr/bin/python3", "-c", "import socket,sys\n"
                + "s=socket.socket(socket.AF_UNIX)\ns.bind('\\0" + abstractName + "')\ns.listen(5)\n"
                + "print('ready',flush=True)\n"
                + "while True:\n c,_=s.accept(); c.sendall(b'hello from the host\\n'); c.close()\n")
                .redirectErrorStream(true).start();
        assertThat(new String(abstractListener.getInputStream().readNBytes(6), StandardCharsets.UTF_8)).isEqualTo("ready\n");
        provider = open("ws", false);
        hostLoopback = open("ws-loopback", true);
    }

    @AfterAll
    void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {provider, hostLoopback, local, other}) {
            if (c != null) {
                c.close();
            }
        }
        if (abstractListener != null) {
            abstractListener.destroyForcibly();
            abstractListener.waitFor(5, TimeUnit.SECONDS);
        }
        dev.derrick.local.internal.TreeDeleter.delete(tmp);
    }

    WorkspaceProvider open(String name, boolean allowHostLoopback) {
        Map<String, Object> options = new HashMap<>(Map.of("root", tmp.resolve(name).toString(), "isolation", "sandbox",
                "cache", "false", "environment", Map.of("PATH", "/usr/bin:/bin")));
        if (allowHostLoopback) {
            options.put("network_host_loopback", "true");
        }
        return WorkspaceProviders.open("local", options);
    }

    static WorkspaceConfig config(NetworkPolicy network) {
        return WorkspaceConfig.builder("net-it").network(network).build();
    }

    /** bash's /dev/tcp: exit 0 and the greeting when it connects. */
    static ExecResult connect(Workspace ws, String address, int port) {
        return ws.exec("timeout 5 bash -c 'exec 3<>/dev/tcp/" + address + "/" + port + " && head -1 <&3'");
    }

    static String abstractClient(String name) {
        return "/usr/bin/python3 -c \"import socket\ns=socket.socket(socket.AF_UNIX)\ns.settimeout(3)\n"
                + "s.connect('\\\\0" + name + "')\nprint(s.recv(100).decode(),end='')\"";
    }

    static String run(Workspace ws, String command) {
        ExecResult r = ws.exec(command);
        assertThat(r.exitCode()).as("%s\n%s", command, r.output()).isZero();
        return r.stdout();
    }

    @Test
    void offIsLoopbackOnlyWhereListenAndConnectStillWork() {
        int localBefore = local.accepted.get();
        int otherBefore = other.accepted.get();
        try (Workspace ws = provider.create(config(NetworkPolicy.OFF))) {
            assertThat(run(ws, "ip -o link show | awk -F': ' '{print $2}'").strip()).isEqualTo("lo");
            assertThat(run(ws, "ip route show; ip -6 route show").strip()).isEmpty();
            for (String address : List.of("127.0.0.1", UserModeNetwork.GATEWAY, "127.0.0.2")) {
                ExecResult r = connect(ws, address, address.equals("127.0.0.2") ? other.port() : local.port());
                assertThat(r.exitCode()).as(address + ": " + r.output()).isNotZero();
                assertThat(r.output()).doesNotContain("hello from the host");
            }
            // its own loopback: a server and a client inside
            String inside = run(ws, "/usr/bin/python3 -c \"import socket,threading\n"
                    + "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(1)\n"
                    + "t=threading.Thread(target=lambda: s.accept()[0].sendall(b'inside ok')); t.start()\n"
                    + "c=socket.create_connection(s.getsockname()); print(c.recv(20).decode())\"");
            assertThat(inside.strip()).isEqualTo("inside ok");
            ExecResult abs = ws.exec(abstractClient(abstractName));
            assertThat(abs.exitCode()).as(abs.output()).isNotZero();
            assertThat(abs.output()).doesNotContain("hello from the host").contains("ConnectionRefused");
            assertThat(ws.info().isolation()).isEqualTo("sandbox (network off (own network namespace, loopback only))");
        }
        assertThat(local.accepted.get()).isEqualTo(localBefore);
        assertThat(other.accepted.get()).isEqualTo(otherBefore);
    }

    @Test
    void theAbstractSocketIsReachableFromTheHostsNamespaceSoTheRefusalAboveMeansSomething() throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", abstractClient(abstractName)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(out).isEqualTo("hello from the host\n");
    }

    @Test
    void onHasAUserModeNetworkThatCannotReachTheHostsLoopback() {
        int localBefore = local.accepted.get();
        int otherBefore = other.accepted.get();
        try (Workspace ws = provider.create(config(NetworkPolicy.ON))) {
            assertThat(run(ws, "ip -o link show | awk -F': ' '{print $2}'").strip().split("\\s+"))
                    .containsExactly("lo", UserModeNetwork.DEVICE);
            assertThat(run(ws, "ip -4 -o addr show " + UserModeNetwork.DEVICE)).contains("10.0.2.100/24");
            assertThat(run(ws, "ip route show")).contains("default via " + UserModeNetwork.GATEWAY);
            assertThat(run(ws, "cat /etc/resolv.conf").strip()).isEqualTo("nameserver " + UserModeNetwork.DNS);
            for (String address : List.of(UserModeNetwork.GATEWAY, "127.0.0.1", "127.0.0.2")) {
                ExecResult r = connect(ws, address, address.equals("127.0.0.2") ? other.port() : local.port());
                assertThat(r.exitCode()).as(address + ": " + r.output()).isNotZero();
                assertThat(r.output()).doesNotContain("hello from the host");
            }
            ExecResult abs = ws.exec(abstractClient(abstractName));
            assertThat(abs.exitCode()).as(abs.output()).isNotZero();
            assertThat(abs.output()).doesNotContain("hello from the host");
            assertThat(ws.info().isolation()).isEqualTo("sandbox (network on (slirp4netns user-mode network, host"
                    + " loopback unreachable))");
        }
        assertThat(local.accepted.get()).isEqualTo(localBefore);
        assertThat(other.accepted.get()).isEqualTo(otherBefore);
    }

    @Test
    void theOperatorCanLetTheGatewayReachTheHostsLoopbackButNoOtherLoopbackAddress() {
        int before = local.accepted.get();
        int otherBefore = other.accepted.get();
        try (Workspace ws = hostLoopback.create(config(NetworkPolicy.ON))) {
            ExecResult r = connect(ws, UserModeNetwork.GATEWAY, local.port());
            assertThat(r.exitCode()).as(r.output()).isZero();
            assertThat(r.stdout()).isEqualTo("hello from the host\n");
            // its 127.0.0.1 is still its own
            assertThat(connect(ws, "127.0.0.1", local.port()).exitCode()).isNotZero();
            assertThat(connect(ws, UserModeNetwork.GATEWAY, other.port()).exitCode()).isNotZero();
            assertThat(ws.info().isolation()).contains("host loopback reachable at 10.0.2.2 (network_host_loopback)");
        }
        assertThat(local.accepted.get() - before).isEqualTo(1);
        assertThat(other.accepted).hasValue(otherBefore);
    }

    @Test
    void perPhaseTheSetupCanConnectAndTheCommandsCannot() {
        int before = local.accepted.get();
        WorkspaceConfig config = WorkspaceConfig.builder("net-it-phases").network(new NetworkPolicy(true, false))
                .setupScript("exec 3<>/dev/tcp/" + UserModeNetwork.GATEWAY + "/" + local.port()
                        + " && head -1 <&3 > setup-got.txt; ip -o link show | awk -F': ' '{print $2}' > setup-links.txt")
                .build();
        try (Workspace ws = hostLoopback.create(config)) {
            assertThat(run(ws, "cat setup-got.txt")).isEqualTo("hello from the host\n");
            assertThat(run(ws, "cat setup-links.txt").strip().split("\\s+")).containsExactly("lo", UserModeNetwork.DEVICE);
            assertThat(run(ws, "ip -o link show | awk -F': ' '{print $2}'").strip()).isEqualTo("lo");
            ExecResult r = connect(ws, UserModeNetwork.GATEWAY, local.port());
            assertThat(r.exitCode()).as(r.output()).isNotZero();
            assertThat(ws.info().isolation()).startsWith("sandbox (network setup on (slirp4netns")
                    .contains(", commands off (own network namespace, loopback only)");
        }
        assertThat(local.accepted.get() - before).isEqualTo(1);
    }

    @Test
    void aSetupThatNeedsTheNetworkFailsWhenItIsOff() {
        int before = local.accepted.get();
        WorkspaceConfig config = WorkspaceConfig.builder("net-it-off-setup").network(new NetworkPolicy(false, true))
                .setupScript("exec 3<>/dev/tcp/" + UserModeNetwork.GATEWAY + "/" + local.port())
                .build();
        assertThatThrownBy(() -> hostLoopback.create(config)).hasMessageContaining("setup script");
        assertThat(local.accepted).hasValue(before);
    }

    @Test
    void slirp4netnsEndsWithTheWorkspaceAndWithTheProvider() throws Exception {
        try (WorkspaceProvider p = open("ws-slirp", false)) {
            Workspace a = p.create(config(NetworkPolicy.ON));
            Workspace b = p.create(config(NetworkPolicy.ON));
            long holderA = ((LocalWorkspace) a).sandbox().holderPid();
            long holderB = ((LocalWorkspace) b).sandbox().holderPid();
            assertThat(slirpFor(holderA)).hasSize(1);
            assertThat(slirpFor(holderB)).hasSize(1);
            a.close();
            assertThat(slirpFor(holderA)).isEmpty();
            assertThat(slirpFor(holderB)).hasSize(1);
            // a reset restarts the sandbox: a new stack, the old one gone
            p.close();
            assertThat(slirpFor(holderB)).isEmpty();
        }
    }

    @Test
    void routesAnAttackerWouldTryAreClosed() {
        try (Workspace ws = provider.create(config(NetworkPolicy.ON))) {
            // the host's abstract sockets are not even listed: /proc/net/unix is per network namespace
            assertThat(run(ws, "cat /proc/net/unix")).doesNotContain(abstractName);
            // no host process to take a namespace from: /proc holds the sandbox's own PID namespace only
            assertThat(run(ws, "ls -d /proc/[0-9]* | wc -l").strip()).satisfies(n -> assertThat(Integer.parseInt(n)).isLessThan(10));
            assertThat(run(ws, "readlink /proc/1/ns/net")).isEqualTo(run(ws, "readlink /proc/self/ns/net"));
            // a namespace of its own making is no way out: a cgroup2 mounted there is root's, not writable
            ExecResult cg = ws.exec("mkdir -p /tmp/cg && unshare -Urm --cgroup sh -c 'mount -t cgroup2 none /tmp/cg"
                    + " && echo $$ > /tmp/cg/cgroup.procs && echo moved'");
            assertThat(cg.stdout()).doesNotContain("moved");
            // slirp4netns has no API socket to steer it (port forwarding, …)
            List<ProcessHandle> slirp = slirpFor(((LocalWorkspace) ws).sandbox().holderPid());
            assertThat(slirp).hasSize(1);
            assertThat(slirp.get(0).info().commandLine().orElseThrow()).doesNotContain("api-socket")
                    .contains("--disable-host-loopback").contains("--enable-sandbox").contains("--enable-seccomp");
            // nor the provider's environment
            assertThat(ProcessEnviron.of(slirp.get(0).pid())).containsExactlyInAnyOrder("PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PWD=/");
        }
    }

    /** A process's environment, as root reads it. */
    static final class ProcessEnviron {
        static List<String> of(long pid) {
            try {
                return List.of(new String(java.nio.file.Files.readAllBytes(Path.of("/proc/" + pid + "/environ")),
                        StandardCharsets.UTF_8).split("\0"));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** slirp4netns processes attached to a holder's network namespace. */
    static List<ProcessHandle> slirpFor(long holderPid) {
        String target = "/proc/" + holderPid + "/ns/net";
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
                .filter(h -> h.info().commandLine().map(c -> c.contains("slirp4netns") && c.contains(target)).orElse(false))
                .toList();
    }
}
