package dev.derrick.local.internal.net;

import dev.derrick.api.DerrickException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A user-mode network stack ({@code slirp4netns}) attached to a sandbox's own network namespace: the sandbox gets a
 * {@code tap0} device (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3) whose packets slirp4netns turns into ordinary
 * sockets of the provider's host. With {@code --disable-host-loopback} (the default here) the gateway address is
 * <em>not</em> the host's 127.0.0.1, so nothing bound to the host's loopback (the derrick API, a git server, a
 * database on 127.0.0.1) is reachable from inside; the sandbox's own 127.0.0.1 is its own namespace's loopback.
 *
 * <p>Lifetime: slirp4netns exits when its stdin, a pipe held by this JVM, reaches end of file ({@code --exit-fd=0}),
 * so it ends with the JVM even after {@code kill -9}; {@link #close()} ends it earlier, and the kernel removes the
 * {@code tap0} device with it (a non-persistent tap lives only as long as its file descriptor), leaving the namespace
 * with loopback only. slirp4netns runs with {@code --enable-sandbox} (its own mount namespace with nothing but what
 * it needs, capabilities dropped) and {@code --enable-seccomp}: it parses every packet the workspace sends.
 */
public final class UserModeNetwork implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UserModeNetwork.class);
    /** The address the sandbox's default route points to. */
    public static final String GATEWAY = "10.0.2.2";
    /** slirp4netns's DNS forwarder: what the sandbox's {@code /etc/resolv.conf} should name. */
    public static final String DNS = "10.0.2.3";
    /** The interface inside the namespace. */
    public static final String DEVICE = "tap0";
    private static final List<Path> CANDIDATES = List.of(Path.of("/usr/bin/slirp4netns"), Path.of("/bin/slirp4netns"),
            Path.of("/usr/local/bin/slirp4netns"));
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(10);

    private final Process process;
    private final OutputStream exitPipe;
    private final long targetPid;
    private final StderrTail stderr;

    private UserModeNetwork(Process process, long targetPid, StderrTail stderr) {
        this.process = process;
        this.exitPipe = process.getOutputStream();
        this.targetPid = targetPid;
        this.stderr = stderr;
    }

    /** The slirp4netns executable, if installed (PATH, then the usual places). */
    public static Optional<Path> executable() {
        String path = System.getenv("PATH");
        List<Path> dirs = new ArrayList<>();
        if (path != null) {
            for (String dir : path.split(":")) {
                if (!dir.isBlank()) {
                    dirs.add(Path.of(dir).resolve("slirp4netns"));
                }
            }
        }
        dirs.addAll(CANDIDATES);
        return dirs.stream().filter(Files::isExecutable).findFirst();
    }

    /**
     * Attaches a stack to the network namespace of {@code pid} and waits until {@code tap0} is configured.
     *
     * @param pid               a process (host pid) inside the sandbox's network namespace
     * @param allowHostLoopback whether the gateway address 10.0.2.2 reaches the host's 127.0.0.1 (operator's choice)
     * @throws DerrickException when slirp4netns is missing, fails, or is not ready in time (it is ended then)
     */
    public static UserModeNetwork attach(long pid, boolean allowHostLoopback) {
        Path exe = executable().orElseThrow(() -> new DerrickException(
                "network \"on\" in a sandbox needs slirp4netns: install it (apt-get install slirp4netns)"));
        List<String> command = new ArrayList<>(List.of("/bin/sh", "-c",
                // fd 3 (the ready byte) goes to our stdout pipe; slirp4netns's own stdout text joins its stderr
                "exec \"$@\" 3>&1 1>&2", "slirp4netns", exe.toString(), "--configure", "--mtu=65520",
                "--enable-sandbox", "--enable-seccomp", "--exit-fd=0", "--ready-fd=3"));
        if (!allowHostLoopback) {
            command.add("--disable-host-loopback");
        }
        // by path: with a pid, slirp4netns's setns fails (EPERM) for a namespace owned by an unprivileged user namespace
        command.add("--netns-type=path");
        command.add("/proc/" + pid + "/ns/net");
        command.add(DEVICE);
        Process process;
        try {
            // nothing of the provider's environment (tokens): slirp4netns parses every packet the workspace sends
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.environment().clear();
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.directory(new java.io.File("/"));
            process = pb.start();
        } catch (IOException e) {
            throw new DerrickException("cannot start slirp4netns: " + e.getMessage(), e);
        }
        StderrTail stderr = new StderrTail(process.getErrorStream(), pid);
        UserModeNetwork network = new UserModeNetwork(process, pid, stderr);
        try {
            network.awaitReady();
        } catch (RuntimeException e) {
            network.close();
            throw e;
        }
        LOG.debug("slirp4netns {} attached to the network namespace of {} (host loopback {})", process.pid(), pid,
                allowHostLoopback ? "reachable at " + GATEWAY : "unreachable");
        return network;
    }

    private void awaitReady() {
        // One byte '1' on the ready fd; EOF means slirp4netns died first.
        java.util.concurrent.CompletableFuture<Integer> ready = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return process.getInputStream().read();
            } catch (IOException e) {
                return -1;
            }
        }, r -> {
            Thread t = new Thread(r, "derrick-slirp-ready");
            t.setDaemon(true);
            t.start();
        });
        int b;
        try {
            b = ready.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new DerrickException("slirp4netns did not configure the network of process " + targetPid + " within "
                    + READY_TIMEOUT.toSeconds() + " s" + stderr.describe());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while starting slirp4netns", e);
        } catch (java.util.concurrent.ExecutionException e) {
            b = -1;
        }
        if (b != '1') {
            waitQuietly(Duration.ofSeconds(2));
            throw new DerrickException("slirp4netns failed to attach to the network namespace of process " + targetPid
                    + (process.isAlive() ? "" : " (exit code " + process.exitValue() + ")") + stderr.describe());
        }
    }

    /** The slirp4netns process's pid. */
    public long pid() {
        return process.pid();
    }

    /** Whether slirp4netns still runs. */
    public boolean alive() {
        return process.isAlive();
    }

    /** Ends slirp4netns (closing its exit pipe, then a signal); the namespace is left with loopback only. */
    @Override
    public void close() {
        try {
            exitPipe.close();
        } catch (IOException e) {
            // already closed
        }
        if (!waitQuietly(Duration.ofSeconds(2))) {
            process.destroyForcibly();
            waitQuietly(Duration.ofSeconds(5));
        }
        if (process.isAlive()) {
            LOG.warn("slirp4netns {} did not end", process.pid());
        }
    }

    private boolean waitQuietly(Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    /** Drains slirp4netns's stderr (and stdout text) so it never blocks; keeps the last lines for error messages. */
    private static final class StderrTail {
        private final StringBuilder tail = new StringBuilder();

        StderrTail(InputStream in, long pid) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[4096];
                try (in) {
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        synchronized (tail) {
                            tail.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                            if (tail.length() > 4000) {
                                tail.delete(0, tail.length() - 4000);
                            }
                        }
                    }
                } catch (IOException e) {
                    // process ended
                }
            }, "derrick-slirp-stderr-" + pid);
            t.setDaemon(true);
            t.start();
        }

        String describe() {
            synchronized (tail) {
                String text = tail.toString().strip();
                return text.isEmpty() ? "" : ": " + text.replace('\n', ' ');
            }
        }
    }
}
