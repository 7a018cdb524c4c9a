package dev.derrick.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged {@code target/derrick.jar} running as a child process, for the integration tests. Its temp dir is
 * private to the test; stdout and stderr go to files. {@link #close()} kills it (and its children) if still running.
 */
final class DerrickProcess implements AutoCloseable {
    static final Path JAR = Path.of("target", "derrick.jar").toAbsolutePath();

    final Process process;
    final Path tmp;
    final Path stdout;
    final Path stderr;
    final int port;

    private DerrickProcess(Process process, Path tmp, Path stdout, Path stderr, int port) {
        this.process = process;
        this.tmp = tmp;
        this.stdout = stdout;
        this.stderr = stderr;
        this.port = port;
    }

    /** Starts {@code java -jar derrick.jar args…} with {@code env} added to a minimal environment. */
    static DerrickProcess start(Path dir, Map<String, String> env, List<String> args, int port) throws IOException {
        return start(dir, env, null, args, port);
    }

    /**
     * Like {@link #start(Path, Map, List, int)}; with {@code extraClassPath}, runs
     * {@code java -cp derrick.jar:extra dev.derrick.server.DerrickCli …} (a backend jar added to the class path).
     */
    static DerrickProcess start(Path dir, Map<String, String> env, Path extraClassPath, List<String> args, int port)
            throws IOException {
        if (!Files.isRegularFile(JAR)) {
            throw new IllegalStateException(JAR + " is missing: run the package phase first");
        }
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Djava.io.tmpdir=" + tmp);
        if (extraClassPath == null) {
            command.add("-jar");
            command.add(JAR.toString());
        } else {
            command.add("-cp");
            command.add(JAR + java.io.File.pathSeparator + extraClassPath.toAbsolutePath());
            command.add("dev.derrick.server.DerrickCli");
        }
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().retainAll(List.of("PATH", "HOME", "LANG", "TERM", "USER"));
        pb.environment().putAll(env);
        return new DerrickProcess(pb.start(), tmp, out, err, port);
    }

    /** Runs the jar to completion (bad-input cases) and returns it; fails after 60 s. */
    static DerrickProcess run(Path dir, Map<String, String> env, String... args) throws Exception {
        DerrickProcess p = start(dir, env, List.of(args), -1);
        if (!p.process.waitFor(60, TimeUnit.SECONDS)) {
            p.close();
            throw new AssertionError("derrick did not exit: " + p.stderr());
        }
        return p;
    }

    /** A port nobody listens on right now. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** Waits until GET /health answers. */
    DerrickProcess awaitHealthy(Duration limit) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("derrick exited with " + process.exitValue() + ": " + stderr());
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri().resolve("/health"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return this;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new AssertionError("derrick not healthy within " + limit + ": " + stderr());
    }

    int exitCode() {
        return process.exitValue();
    }

    String stderr() {
        return read(stderr);
    }

    String stdout() {
        return read(stdout);
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM and waits for the exit code. */
    int terminate(Duration limit) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("derrick did not stop within " + limit + " after SIGTERM: " + stderr());
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
