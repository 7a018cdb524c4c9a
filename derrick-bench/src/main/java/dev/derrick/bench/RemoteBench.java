package dev.derrick.bench;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.NatsTestServer;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Figures for the remote providers, side by side in one run, medians: {@code exec("true")} through the library
 * ({@code local} in-process), through a local HTTP server ({@code remote_http} → {@code derrick -p local -s http}) and
 * through NATS ({@code remote_nats} → one {@code derrick -p local -s nats} agent); and creates per second with one
 * and with three agents.
 *
 * <pre>
 * java -cp … dev.derrick.bench.RemoteBench [exec runs, default 200] [create rounds, default 3] [derrick.jar]
 * </pre>
 */
public final class RemoteBench {
    private static final int CREATES = 24;
    private static final int CREATE_THREADS = 6;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path jar = Path.of(args.length > 2 ? args[2] : "derrick-server/target/derrick.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException(jar + " is missing: build it with ./mvnw -pl derrick-server -am package -DskipTests");
        }
        Path logs = Files.createTempDirectory("derrick-remote-bench-");
        WorkspaceConfig config = WorkspaceConfig.builder("bench").setupScript("echo ready > setup.txt").build();
        List<Process> processes = new ArrayList<>();
        try (NatsTestServer nats = NatsTestServer.start()) {
            int httpPort = freePort();
            processes.add(start(jar, logs.resolve("http.log"), "derrick HTTP API listening", "-p", "local", "-s", "http",
                    "--port", String.valueOf(httpPort)));
            processes.add(agent(jar, logs, nats, "one", "solo"));
            for (String id : List.of("t1", "t2", "t3")) {
                processes.add(agent(jar, logs, nats, "three", id));
            }
            System.out.printf(Locale.ROOT, "machine: %d cores, java %s; agents: derrick -p local -s nats; logs in %s%n",
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), logs);

            try (WorkspaceProvider lib = WorkspaceProviders.open("local");
                 WorkspaceProvider http = WorkspaceProviders.open("remote_http", Map.of("url", "http://127.0.0.1:" + httpPort));
                 WorkspaceProvider natsOne = WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(), "prefix", "one"));
                 WorkspaceProvider natsThree = WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(), "prefix", "three"))) {
                Workspace a = lib.create(config);
                Workspace b = http.create(config);
                Workspace c = natsOne.create(config);
                // interleaved so that machine noise hits all three alike
                Stats sLib = new Stats("exec(\"true\") library (local, in-process)");
                Stats sHttp = new Stats("exec(\"true\") remote_http -> local HTTP server");
                Stats sNats = new Stats("exec(\"true\") remote_nats -> 1 agent");
                for (int i = 0; i < 20; i++) {
                    a.exec("true");
                    b.exec("true");
                    c.exec("true");
                }
                for (int i = 0; i < runs; i++) {
                    sLib.add(time(() -> a.exec("true")));
                    sHttp.add(time(() -> b.exec("true")));
                    sNats.add(time(() -> c.exec("true")));
                }
                System.out.println(sLib.line());
                System.out.println(sHttp.line());
                System.out.println(sNats.line());
                System.out.println(Stats.ratio(sHttp, sLib));
                System.out.println(Stats.ratio(sNats, sLib));
                System.out.println(Stats.ratio(sNats, sHttp));
                a.close();
                b.close();
                c.close();

                Stats one = new Stats("create x" + CREATES + " (" + CREATE_THREADS + " threads), 1 agent");
                Stats three = new Stats("create x" + CREATES + " (" + CREATE_THREADS + " threads), 3 agents");
                for (int r = 0; r < rounds; r++) {
                    one.add(burst(natsOne, config));
                    three.add(burst(natsThree, config));
                }
                System.out.println(one.line());
                System.out.println(three.line());
                System.out.printf(Locale.ROOT, "creates per second (median burst): 1 agent %.1f/s, 3 agents %.1f/s%n",
                        CREATES / (one.medianMillis() / 1000), CREATES / (three.medianMillis() / 1000));
            }
        } finally {
            for (Process p : processes) {
                p.destroy();
            }
            for (Process p : processes) {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
    }

    private interface Action {
        void run() throws Exception;
    }

    private static long time(Action action) throws Exception {
        long start = System.nanoTime();
        action.run();
        return System.nanoTime() - start;
    }

    /** Creates {@link #CREATES} workspaces from {@link #CREATE_THREADS} threads; returns the wall time; closes them. */
    private static long burst(WorkspaceProvider p, WorkspaceConfig config) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(CREATE_THREADS);
        try {
            long start = System.nanoTime();
            List<Future<Workspace>> futures = new ArrayList<>();
            for (int i = 0; i < CREATES; i++) {
                futures.add(pool.submit(() -> p.create(config)));
            }
            List<Workspace> made = new ArrayList<>();
            for (Future<Workspace> f : futures) {
                made.add(f.get());
            }
            long elapsed = System.nanoTime() - start;
            for (Workspace ws : made) {
                ws.close();
            }
            return elapsed;
        } finally {
            pool.shutdownNow();
        }
    }

    private static Process agent(Path jar, Path logs, NatsTestServer nats, String prefix, String id) throws IOException {
        return start(jar, logs.resolve(id + ".log"), "derrick NATS agent " + id + " serving", "-p", "local", "-s", "nats",
                "--nats-url", nats.url(), "--nats-prefix", prefix, "--agent-id", id, "--max-workspaces", "64",
                "--log-level", "info");
    }

    private static Process start(Path jar, Path log, String ready, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().remove("DERRICK_API_TOKEN");
        Process p = pb.start();
        long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < until) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (text.contains(ready)) {
                return p;
            }
            if (!p.isAlive()) {
                throw new IllegalStateException(String.join(" ", args) + " exited: " + text);
            }
            sleep(50);
        }
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", args) + " did not start within 60 s; see " + log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

}
