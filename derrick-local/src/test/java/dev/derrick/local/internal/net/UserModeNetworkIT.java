package dev.derrick.local.internal.net;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * slirp4netns against the real kernel, in a network namespace this test makes (owned by a user namespace of an
 * unprivileged uid, as a sandbox's is); the only server is one on the host's 127.0.0.1.
 */
class UserModeNetworkIT {
    private Process namespace;
    private ServerSocket server;
    private final AtomicInteger accepted = new AtomicInteger();

    @BeforeEach
    void setUp() throws IOException {
        // like a sandbox holder: a user namespace of an unprivileged uid owns the network namespace
        namespace = new ProcessBuilder("setpriv", "--reuid", "64999", "--regid", "64999", "--clear-groups",
                "unshare", "--user", "--net", "sleep", "600").start();
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                    accepted.incrementAndGet();
                    out.write("hello from the host\n".getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // closed
                }
            }
        }, "host-loopback-server");
        t.setDaemon(true);
        t.start();
        awaitNamespace();
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        namespace.destroyForcibly();
        namespace.waitFor(5, TimeUnit.SECONDS);
    }

    @Test
    void hostLoopbackIsUnreachableByDefaultAndTheDeviceGoesWithTheStack() throws Exception {
        assertThat(links()).containsExactly("lo");
        try (UserModeNetwork net = UserModeNetwork.attach(namespace.pid(), false)) {
            assertThat(links()).containsExactly("lo", "tap0");
            assertThat(inside("ip -4 -o addr show tap0")).contains("10.0.2.100/24");
            assertThat(inside("ip route")).contains("default via " + UserModeNetwork.GATEWAY);
            Result viaGateway = connect(UserModeNetwork.GATEWAY);
            Result viaLoopback = connect("127.0.0.1");
            assertThat(viaGateway.exit).isNotZero();
            assertThat(viaGateway.output).doesNotContain("hello from the host");
            assertThat(viaLoopback.exit).isNotZero();
            assertThat(viaLoopback.output).contains("refused");
            assertThat(accepted).hasValue(0);
            assertThat(net.alive()).isTrue();
            net.close();
            assertThat(net.alive()).isFalse();
            assertThat(links()).containsExactly("lo");
        }
    }

    @Test
    void theOperatorCanAllowHostLoopbackThroughTheGateway() throws Exception {
        try (UserModeNetwork net = UserModeNetwork.attach(namespace.pid(), true)) {
            Result viaGateway = connect(UserModeNetwork.GATEWAY);
            assertThat(viaGateway.output).contains("hello from the host");
            assertThat(viaGateway.exit).isZero();
            assertThat(accepted).hasValue(1);
        }
    }

    @Test
    void endsWhenItsJvmSideOfTheExitPipeCloses() throws Exception {
        UserModeNetwork net = UserModeNetwork.attach(namespace.pid(), false);
        long pid = net.pid();
        net.close();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }

    @Test
    void aNamespaceThatIsGoneIsAClearError() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> UserModeNetwork.attach(gone.pid(), false))
                .hasMessageContaining("slirp4netns failed to attach to the network namespace of process " + gone.pid());
    }

    record Result(int exit, String output) {
    }

    private Result connect(String address) throws Exception {
        return run(List.of("nsenter", "-t", Long.toString(namespace.pid()), "-n", "timeout", "5", "bash", "-c",
                "exec 3<>/dev/tcp/" + address + "/" + server.getLocalPort() + " && head -1 <&3"));
    }

    private List<String> links() throws Exception {
        return List.of(inside("ls /sys/class/net").strip().split("\\s+"));
    }

    private String inside(String command) throws Exception {
        // a fresh sysfs view needs a mount namespace: ls /sys/class/net through ip netns-style re-mount
        return run(List.of("nsenter", "-t", Long.toString(namespace.pid()), "-n", "unshare", "-m", "sh", "-c",
                "mount -t sysfs sysfs /sys && " + command)).output;
    }

    private static Result run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), out);
    }

    private void awaitNamespace() throws IOException {
        String own = java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/net")).toString();
        for (int i = 0; i < 200; i++) {
            try {
                String theirs = java.nio.file.Files.readSymbolicLink(
                        java.nio.file.Path.of("/proc/" + namespace.pid() + "/ns/net")).toString();
                if (!theirs.equals(own)) {
                    return;
                }
            } catch (IOException e) {
                // not yet
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("unshare -n did not make a network namespace");
    }
}
