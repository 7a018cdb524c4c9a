package dev.derrick.server.nats;

import dev.derrick.api.WorkspaceProviders;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * derrick agents ({@code java -cp derrick.jar … DerrickCli -s nats}) as separate processes, for tests. The backend is
 * {@code local} when it is on the class path, else the server tests' {@code testdir} provider (the test classes are
 * put on the agents' class path for that). Every process started is ended by {@link #close()}.
 */
public final class Fleet implements AutoCloseable {
    static final Path JAR = Path.of("target", "derrick.jar").toAbsolutePath();
    static final Duration HEARTBEAT = Duration.ofMillis(500);

    private final String natsUrl;
    private final String prefix;
    private final Path dir;
    private final Map<String, Process> agents = new LinkedHashMap<>();
    private final List<Process> others = new ArrayList<>();

    public Fleet(String natsUrl, String prefix) {
        this.natsUrl = natsUrl;
        this.prefix = prefix;
        try {
            this.dir = Files.createTempDirectory("derrick-fleet-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!Files.isRegularFile(JAR)) {
            throw new AssertionError(JAR + " is missing: run the ITs with `mvnw verify` (derrick.jar is built in package)");
        }
    }

    /** The backend agents use. */
    static String provider() {
        return WorkspaceProviders.find("local").isPresent() ? "local" : "testdir";
    }

    public String prefix() {
        return prefix;
    }

    /** Starts an agent and waits until it serves. */
    Fleet agent(String id, int maxWorkspaces, Map<String, String> env) {
        return agent(id, maxWorkspaces, env, List.of());
    }

    /** Starts an agent with extra command-line options and a cache of its own in this fleet's directory. */
    public Fleet agent(String id, int maxWorkspaces, Map<String, String> env, List<String> extraArgs) {
        List<String> args = new ArrayList<>(List.of("-p", provider(), "-s", "nats", "--nats-url", natsUrl,
                "--nats-prefix", prefix, "--agent-id", id, "--max-workspaces", String.valueOf(maxWorkspaces),
                "--heartbeat-interval", String.valueOf(HEARTBEAT.toMillis() / 1000.0),
                "--log-level", System.getProperty("derrick.fleet.log", "info")));
        if (!extraArgs.isEmpty()) {
            args.addAll(extraArgs);
            if (!extraArgs.contains("--cache-dir") && provider().equals("local")) {
                args.addAll(List.of("--cache-dir", dir.resolve("cache-" + id).toString()));
            }
        }
        Process p = start(args, env, dir.resolve(id + ".log"));
        agents.put(id, p);
        await(p, dir.resolve(id + ".log"), "derrick NATS agent " + id + " serving");
        return this;
    }

    public Fleet agent(String id, int maxWorkspaces) {
        return agent(id, maxWorkspaces, Map.of());
    }

    /** Starts {@code derrick -p remote_nats -s http} on a port and waits until it listens. */
    public Process gateway(int port, Path config) {
        List<String> args = new ArrayList<>(List.of("-p", "remote_nats", "-s", "http", "--nats-url", natsUrl,
                "--nats-prefix", prefix, "--port", String.valueOf(port)));
        if (config != null) {
            args.addAll(List.of("-w", config.toString()));
        }
        Path log = dir.resolve("gateway-" + port + ".log");
        Process p = start(args, Map.of(), log);
        others.add(p);
        await(p, log, "listening on");
        return p;
    }

    public Path dir() {
        return dir;
    }

    /** SIGKILL: the agent gets no chance to say goodbye. */
    void kill(String id) throws InterruptedException {
        Process p = agents.get(id);
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
    }

    String log(String id) {
        try {
            return Files.readString(dir.resolve(id + ".log"));
        } catch (IOException e) {
            return "";
        }
    }

    private Process start(List<String> args, Map<String, String> env, Path log) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = JAR + File.pathSeparator + Path.of("target", "test-classes").toAbsolutePath();
        Path tmp = dir.resolve("tmp");
        try {
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // a private java.io.tmpdir: the local provider's workspaces (and those a SIGKILLed agent leaves) stay here
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + tmp, "-cp", cp,
                "dev.derrick.server.DerrickCli"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().remove("DERRICK_API_TOKEN");
        pb.environment().putAll(env);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void await(Process p, Path log, String line) {
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < until) {
            String text = read(log);
            if (text.contains(line)) {
                return;
            }
            if (!p.isAlive()) {
                throw new AssertionError("process exited with " + p.exitValue() + ":\n" + text);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted");
            }
        }
        p.destroyForcibly();
        throw new AssertionError("no '" + line + "' within 60 s:\n" + read(log));
    }

    private static String read(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        try {
            closeProcesses();
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    private void closeProcesses() {
        List<Process> all = new ArrayList<>(others);
        all.addAll(agents.values());
        for (Process p : all) {
            p.destroy();
        }
        for (Process p : all) {
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
    }
}
