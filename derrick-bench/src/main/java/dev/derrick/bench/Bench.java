package dev.derrick.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.tck.GitTestServer;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The one benchmark command ({@code ./scripts/bench}): every scenario next to its baseline in the same run, medians,
 * one table with each target marked PASS or MISS, written as JSON to {@code target/bench/bench.json}. Inputs are made
 * here: a small repository on the token-protected {@link GitTestServer}, workspaces of the sandboxed {@code local}
 * provider and of {@code docker} (image {@code derrick-test/debian:bookworm-git}, built by {@code scripts/test-env.sh}).
 *
 * <pre>
 * java -cp … dev.derrick.bench.Bench [--smoke] [--no-docker] [--out FILE]
 * </pre>
 *
 * {@code --smoke}: tiny sizes, few iterations — it only proves every scenario still runs ({@code scripts/test} runs
 * it, so it cannot rot); its verdicts mean nothing. Cold creates of the 53 MB repository and the 32-way concurrent
 * create are {@link CacheBench}'s (long: a setup script of ≥ 5 s); they are not in this table yet.
 */
public final class Bench {
    /** One line of the table. */
    public record Row(String scenario, double median, String unit, String baseline, Double baselineMedian,
                      String target, String verdict) {
    }

    private final List<Row> rows = new ArrayList<>();
    private final int runs;
    private final int poolSize;

    private Bench(int runs, int poolSize) {
        this.runs = runs;
        this.poolSize = poolSize;
    }

    public static void main(String[] args) throws Exception {
        boolean smoke = false;
        boolean docker = true;
        Path out = Path.of("target", "bench", "bench.json");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--smoke" -> smoke = true;
                case "--no-docker" -> docker = false;
                case "--out" -> out = Path.of(args[++i]);
                default -> {
                    System.err.println("unknown argument '" + args[i] + "'; usage: Bench [--smoke] [--no-docker] [--out FILE]");
                    System.exit(2);
                }
            }
        }
        Bench bench = new Bench(smoke ? 3 : 21, smoke ? 2 : 8);
        bench.run(docker);
        bench.print(smoke);
        Files.createDirectories(out.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(),
                Map.of("smoke", smoke, "runs", bench.runs, "pool", bench.poolSize, "rows", bench.rows));
        System.out.println("written: " + out.toAbsolutePath());
    }

    private void run(boolean docker) throws Exception {
        String token = "bench-" + UUID.randomUUID();
        Path root = Files.createTempDirectory("derrick-bench");
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.put("BENCH_GIT_TOKEN", token);
        try (GitTestServer git = GitTestServer.start(token)) {
            git.createRepository("small", Map.of("README.md", "small repository\n", "src/Main.java", "class Main {}\n"));
            RepositoryConfig repo = RepositoryConfig.of(git.url("small"), "code/small").withAuth(GitAuth.fromEnv("BENCH_GIT_TOKEN"));
            local(root, environment, repo);
            if (docker) {
                docker(root, environment, repo);
            }
        } finally {
            dev.derrick.core.cache.FileTrees.deleteQuietly(root);
        }
    }

    // ------------------------------------------------------------------ local

    private void local(Path root, Map<String, String> environment, RepositoryConfig repo) throws Exception {
        WorkspaceConfig config = WorkspaceConfig.builder("bench-local").repository(repo)
                .setupScript("echo ready > setup-done.txt").build();
        try (WorkspaceProvider sandboxed = WorkspaceProviders.open("local", Map.of("root", root.resolve("l-ws").toString(),
                     "environment", environment, "cache_dir", root.resolve("l-cache").toString()));
             WorkspaceProvider none = WorkspaceProviders.open("local", Map.of("root", root.resolve("n-ws").toString(),
                     "environment", environment, "cache_dir", root.resolve("n-cache").toString(), "isolation", "none"));
             WorkspacePool pool = (WorkspacePool) WorkspaceProviders.open("local", Map.of("root", root.resolve("p-ws").toString(),
                     "environment", environment, "cache_dir", root.resolve("p-cache").toString(), "pool", poolSize))) {
            sandboxed.create(config).close();
            none.create(config).close();
            pool.create(config).close();
            pool.awaitIdle(Duration.ofMinutes(5));

            Stats raw = Stats.measure("ProcessBuilder sh -c true", 5, runs * 3, () -> {
                Process p = new ProcessBuilder("sh", "-c", "true").redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                p.waitFor(60, TimeUnit.SECONDS);
                return null;
            });
            Stats execNone;
            Stats execSandbox;
            try (Workspace n = none.create(config); Workspace s = sandboxed.create(config)) {
                execNone = Stats.measure("local exec(\"true\"), isolation=none", 5, runs * 3, () -> check(n.exec("true")));
                execSandbox = Stats.measure("local exec(\"true\"), sandbox", 5, runs * 3, () -> check(s.exec("true")));
            }
            ratio("local exec(\"true\") without sandbox", execNone, raw, 1.5);
            add("local exec(\"true\"): what the sandbox adds", execSandbox.medianMillis() - execNone.medianMillis(), "ms",
                    execNone.line().split("\\s+n=")[0].strip(), execNone.medianMillis(), "<= 3 ms",
                    execSandbox.medianMillis() - execNone.medianMillis() <= 3);

            Stats[] cr = createsAndResets("local", sandboxed, pool, config);
            Stats fromCache = cr[0];
            Stats fromPool = cr[1];
            Stats reset = cr[2];
            absolute(fromCache, 20);
            absolute(fromPool, 10);
            absolute(reset, 20);
            add("local creates per second from a full pool of " + poolSize, burst(pool, config), "/s", null, null,
                    ">= 100/s", burst >= 100);
            Stats overHttp = httpPoolCreate(root, environment, config);
            add("local create from the pool over HTTP: what HTTP adds", overHttp.medianMillis() - fromPool.medianMillis(),
                    "ms", label(fromPool), fromPool.medianMillis(), "<= 2 ms",
                    overHttp.medianMillis() - fromPool.medianMillis() <= 2);
            fork(sandboxed, config, "local", 150);
        }
    }

    /**
     * Creates from the cache (each then written to and reset) and from the pool (refilled between samples), taking
     * turns: {create from the cache, create from the pool, reset}.
     */
    private Stats[] createsAndResets(String name, WorkspaceProvider cached, WorkspacePool pool, WorkspaceConfig config)
            throws Exception {
        Stats fromCache = new Stats(name + " create from the cache, no pool");
        Stats fromPool = new Stats(name + " create from the pool");
        Stats reset = new Stats(name + " reset");
        Stats firstReset = new Stats(name + " first reset of a workspace");
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            Workspace a = cached.create(config);
            fromCache.add(System.nanoTime() - t0);
            a.writeString("scratch.txt", "x");
            long t1 = System.nanoTime();
            a.reset();
            firstReset.add(System.nanoTime() - t1);
            Thread.sleep(400); // an agent's turn: what the workspace does between resets
            a.writeString("scratch.txt", "x");
            long t3 = System.nanoTime();
            a.reset();
            reset.add(System.nanoTime() - t3);
            a.close();
            long t2 = System.nanoTime();
            Workspace b = pool.create(config);
            fromPool.add(System.nanoTime() - t2);
            b.close();
            pool.awaitIdle(Duration.ofMinutes(2));
        }
        add(label(firstReset), firstReset.medianMillis(), "ms", null, null, "-", null);
        return new Stats[] {fromCache, fromPool, reset};
    }

    /**
     * {@code POST /workspaces {}} against an embedded HTTP server in front of a local pool (the server's own config),
     * each workspace deleted over HTTP and the pool refilled between samples.
     */
    private Stats httpPoolCreate(Path root, Map<String, String> environment, WorkspaceConfig config) throws Exception {
        WorkspacePool pool = (WorkspacePool) WorkspaceProviders.open("local", Map.of("root", root.resolve("h-ws").toString(),
                "environment", environment, "cache_dir", root.resolve("h-cache").toString(), "pool", poolSize));
        Stats stats = new Stats("local create from the pool over HTTP (POST /workspaces)");
        try (dev.derrick.server.EmbeddedHttpServer server = dev.derrick.server.EmbeddedHttpServer.start(pool, config,
                java.net.InetAddress.getLoopbackAddress(), 0)) { // closes the pool with it
            java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder()
                    .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            java.net.http.HttpRequest create = java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(server.uri() + "/workspaces"))
                    .header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build();
            for (int i = 0; i < runs + 2; i++) {
                long t0 = System.nanoTime();
                var reply = http.send(create, java.net.http.HttpResponse.BodyHandlers.ofString());
                long took = System.nanoTime() - t0;
                if (reply.statusCode() != 200) {
                    throw new IllegalStateException("POST /workspaces answered " + reply.statusCode() + ": " + reply.body());
                }
                if (i >= 2) { // the first builds the entry, the second warms the connection
                    stats.add(took);
                }
                String id = new ObjectMapper().readTree(reply.body()).path("id").asText();
                http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.uri() + "/workspaces/" + id))
                        .DELETE().build(), java.net.http.HttpResponse.BodyHandlers.discarding());
                pool.awaitIdle(Duration.ofMinutes(2));
            }
        }
        return stats;
    }

    private double burst;

    /** Median creates per second of bursts of {@code poolSize} creates from a full pool. */
    private double burst(WorkspacePool pool, WorkspaceConfig config) throws Exception {
        List<Double> perSecond = new ArrayList<>();
        for (int r = 0; r < Math.max(3, runs / 4); r++) {
            pool.awaitIdle(Duration.ofMinutes(5));
            List<Workspace> made = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < poolSize; i++) {
                made.add(pool.create(config));
            }
            perSecond.add(poolSize / ((System.nanoTime() - t0) / 1e9));
            made.forEach(Workspace::close);
        }
        perSecond.sort(Double::compare);
        burst = perSecond.get(perSecond.size() / 2);
        return burst;
    }

    private void fork(WorkspaceProvider provider, WorkspaceConfig config, String name, double targetMs) {
        Stats fork8 = new Stats(name + " fork x8 (1 MB of changes)");
        try (Workspace source = provider.create(config)) {
            source.writeFile("bench-changes.bin", new byte[1 << 20]);
            for (int i = 0; i < Math.max(3, runs / 4); i++) {
                long t0 = System.nanoTime();
                List<Workspace> forks = source.fork(8);
                fork8.add(System.nanoTime() - t0);
                forks.forEach(Workspace::close);
            }
        }
        absolute(fork8, targetMs);
    }

    // ------------------------------------------------------------------ docker

    private void docker(Path root, Map<String, String> environment, RepositoryConfig repo) throws Exception {
        String image = System.getenv().getOrDefault("DERRICK_DEBIAN_IMAGE", "derrick-test/debian:bookworm-git");
        WorkspaceConfig config = WorkspaceConfig.builder("bench-docker").image(image).repository(repo)
                .setupScript("echo ready > /workspace/setup-done.txt").build();
        Map<String, Object> base = Map.of("environment", environment, "root", "/workspace");
        Map<String, Object> plain = new HashMap<>(base);
        plain.put("cache_dir", root.resolve("d-cache").toString());
        Map<String, Object> pooled = new HashMap<>(base);
        pooled.put("cache_dir", root.resolve("dp-cache").toString());
        pooled.put("pool", poolSize);
        try (WorkspaceProvider docker = WorkspaceProviders.open("docker", plain);
             WorkspacePool pool = (WorkspacePool) WorkspaceProviders.open("docker", pooled)) {
            docker.create(config).close();
            pool.create(config).close();
            pool.awaitIdle(Duration.ofMinutes(5));

            // the baseline: the CLI's `docker run -d` of the same image (its `rm -f` is not timed)
            Stats runOnly = new Stats("docker run -d CLI (same image)");
            for (int i = 0; i < runs; i++) {
                String name = "derrick-bench-run-" + UUID.randomUUID().toString().substring(0, 8);
                long t0 = System.nanoTime();
                cli("docker", "run", "-d", "--network", "none", "--name", name, image, "sleep", "3600");
                runOnly.add(System.nanoTime() - t0);
                cli("docker", "rm", "-f", name);
            }
            Stats[] cr = createsAndResets("docker", docker, pool, config);
            Stats fromCache = cr[0];
            Stats fromPool = cr[1];
            Stats reset = cr[2];
            ratio("docker create from the cache", fromCache, runOnly, 1.0);
            absolute(fromPool, 10);
            absolute(reset, 100);

            Stats exec;
            try (Workspace ws = docker.create(config)) {
                exec = Stats.measure("docker exec(\"true\")", 5, runs * 3, () -> check(ws.exec("true")));
            }
            Stats tcExec;
            try (GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image)).withCommand("sleep", "3600")) {
                c.start();
                tcExec = Stats.measure("Testcontainers execInContainer(\"true\")", 3, runs * 3,
                        () -> c.execInContainer("true"));
            }
            absolute(exec, 10);
            add("docker exec(\"true\") vs Testcontainers", tcExec.medianMillis() / exec.medianMillis(), "x faster",
                    tcExec.line().split("\\s+n=")[0].strip(), tcExec.medianMillis(), ">= 4x faster",
                    tcExec.medianMillis() / exec.medianMillis() >= 4);
            fork(docker, config, "docker", 1500);
        }
    }

    private static Object check(ExecResult r) {
        if (!r.succeeded()) {
            throw new IllegalStateException("true failed: " + r.output());
        }
        return null;
    }

    private static void cli(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + output.strip());
        }
    }

    // ------------------------------------------------------------------ table

    private void absolute(Stats s, double targetMs) {
        double m = s.medianMillis();
        add(label(s), m, "ms", null, null, "<= " + fmt(targetMs) + " ms", m <= targetMs);
    }

    private void ratio(String what, Stats s, Stats baseline, double target) {
        double r = s.medianMillis() / baseline.medianMillis();
        add(what + " (" + fmt(s.medianMillis()) + " ms)", r, "x", label(baseline), baseline.medianMillis(),
                "<= " + fmt(target) + "x", r <= target);
    }

    private static String label(Stats s) {
        return s.line().split("\\s+n=")[0].strip();
    }

    private void add(String scenario, double value, String unit, String baseline, Double baselineMedian, String target,
                     Boolean pass) {
        rows.add(new Row(scenario, Math.round(value * 100) / 100.0, unit, baseline,
                baselineMedian == null ? null : Math.round(baselineMedian * 100) / 100.0, target,
                pass == null ? "-" : pass ? "PASS" : "MISS"));
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private void print(boolean smoke) {
        System.out.println();
        System.out.printf(Locale.ROOT, "=== derrick bench%s: medians of %d runs, pool of %d ===%n", smoke
                ? " (SMOKE: tiny sizes, verdicts not meaningful)" : "", runs, poolSize);
        System.out.printf(Locale.ROOT, "| %-58s | %12s | %-42s | %-14s | %-4s |%n", "scenario", "figure", "baseline",
                "target", "");
        System.out.println("|" + "-".repeat(60) + "|" + "-".repeat(14) + "|" + "-".repeat(44) + "|" + "-".repeat(16)
                + "|" + "-".repeat(6) + "|");
        for (Row r : rows) {
            String baseline = r.baseline() == null ? "" : r.baseline() + " (" + fmt(r.baselineMedian()) + " ms)";
            System.out.printf(Locale.ROOT, "| %-58s | %12s | %-42s | %-14s | %-4s |%n", r.scenario(),
                    fmt(r.median()) + " " + r.unit(), baseline, r.target(), r.verdict());
        }
        Map<String, Long> verdicts = new LinkedHashMap<>();
        rows.forEach(r -> verdicts.merge(r.verdict(), 1L, Long::sum));
        System.out.println("verdicts: " + verdicts);
    }
}
