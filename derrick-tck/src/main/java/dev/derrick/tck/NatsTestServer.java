package dev.derrick.tck;

import org.opentest4j.TestAbortedException;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code nats-server} for tests, with JetStream, on a free 127.0.0.1 port. The binary is
 * {@code $DERRICK_NATS_SERVER} or {@code nats-server} on the PATH; when neither exists the test is skipped, unless
 * {@code DERRICK_REQUIRE_NATS=true}, when it fails. {@link #restart()} stops and starts it on the same port and store
 * directory, as a NATS outage would.
 *
 * <pre>{@code
 * try (NatsTestServer nats = NatsTestServer.start()) {
 *     String url = nats.url();   // nats://127.0.0.1:PORT
 * }
 * }</pre>
 */
public final class NatsTestServer implements AutoCloseable {
    private final String binary;
    private final int port;
    private final Path storeDir;
    private final Path log;
    private final List<String> extraArgs;
    private Process process;

    private NatsTestServer(String binary, int port, Path storeDir, List<String> extraArgs) {
        this.binary = binary;
        this.port = port;
        this.storeDir = storeDir;
        this.log = storeDir.resolve("nats-server.log");
        this.extraArgs = List.copyOf(extraArgs);
    }

    /** Starts a server with extra {@code nats-server} options (e.g. {@code --auth TOKEN}, {@code -V}). */
    public static NatsTestServer start(String... extraArgs) {
        String binary = binary();
        try {
            Path dir = Files.createTempDirectory("derrick-nats-");
            NatsTestServer server = new NatsTestServer(binary, freePort(), dir, List.of(extraArgs));
            server.launch();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a cluster of {@code size} servers on loopback, each routed to all others (cluster name
     * {@code derrick}); clients connected to one learn the others from it and move when it dies.
     */
    public static List<NatsTestServer> cluster(int size) {
        String binary = binary();
        try {
            List<Integer> routes = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                routes.add(freePort());
            }
            List<NatsTestServer> servers = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                StringBuilder others = new StringBuilder();
                for (int j = 0; j < size; j++) {
                    if (j != i) {
                        others.append(others.length() == 0 ? "" : ",").append("nats://127.0.0.1:").append(routes.get(j));
                    }
                }
                Path dir = Files.createTempDirectory("derrick-nats-c" + i + "-");
                servers.add(new NatsTestServer(binary, freePort(), dir, List.of("--cluster_name", "derrick",
                        "--cluster", "nats://127.0.0.1:" + routes.get(i), "--routes", others.toString(),
                        "-n", "derrick-c" + i)));
            }
            for (NatsTestServer s : servers) {
                s.launch();
            }
            return servers;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts a server, or aborts (skips) the test when none is installed and NATS is not required. */
    public static NatsTestServer start() {
        String binary = binary();
        try {
            Path dir = Files.createTempDirectory("derrick-nats-");
            NatsTestServer server = new NatsTestServer(binary, freePort(), dir, List.of());
            server.launch();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The binary to run; skips or fails as described in the class comment when there is none. */
    public static String binary() {
        String configured = System.getenv("DERRICK_NATS_SERVER");
        if (configured != null && !configured.isBlank() && new File(configured).canExecute()) {
            return configured;
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(File.pathSeparator)) {
                File f = new File(dir, "nats-server");
                if (f.canExecute()) {
                    return f.getAbsolutePath();
                }
            }
        }
        for (String candidate : List.of("/usr/sbin/nats-server", "/usr/bin/nats-server")) {
            if (new File(candidate).canExecute()) {
                return candidate;
            }
        }
        String message = "no nats-server: set DERRICK_NATS_SERVER or put nats-server on the PATH "
                + "(apt-get install nats-server)";
        if ("true".equalsIgnoreCase(System.getenv("DERRICK_REQUIRE_NATS"))) {
            throw new AssertionError(message + " — DERRICK_REQUIRE_NATS=true");
        }
        throw new TestAbortedException(message);
    }

    private void launch() throws IOException {
        List<String> cmd = new ArrayList<>(List.of(binary, "-a", "127.0.0.1", "-p", String.valueOf(port)));
        if (extraArgs.stream().noneMatch(a -> a.equals("--cluster"))) {
            cmd.addAll(List.of("-js", "-sd", storeDir.resolve("js").toString()));
        }
        cmd.addAll(extraArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < until) {
            if (!process.isAlive()) {
                throw new IllegalStateException("nats-server exited with " + process.exitValue() + "; log: "
                        + Files.readString(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                if (Files.readString(log).contains("Server is ready")) {
                    return;
                }
            } catch (IOException notYet) {
                // keep waiting
            }
            sleep(50);
        }
        process.destroyForcibly();
        throw new IllegalStateException("nats-server did not listen on 127.0.0.1:" + port + " within 15 s");
    }

    /** {@code nats://127.0.0.1:PORT}. */
    public String url() {
        return "nats://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** Stops the server (SIGTERM, then SIGKILL) without starting it again. */
    public void stop() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** Stops the server and starts it again on the same port and JetStream store. */
    public void restart() {
        stop();
        try {
            launch();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The server's log so far. */
    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() {
        stop();
        try (var paths = Files.walk(storeDir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
