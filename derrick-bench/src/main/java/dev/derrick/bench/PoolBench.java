package dev.derrick.bench;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.tck.GitTestServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The warm pool ({@link WorkspacePool}) next to a create from the cache, sandboxed local provider, medians in one
 * run: create (claim, with its {@code ls-remote} against the token-protected {@link GitTestServer}), create to the
 * first command's result, and a burst of as many creates as the pool holds, as creates per second. Between samples the
 * pool refills (not timed).
 *
 * <pre>
 * java -cp … dev.derrick.bench.PoolBench [runs] [poolSize] [local] [docker[:image=…]]
 * </pre>
 */
public final class PoolBench {
    private PoolBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 21;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        List<String> targets = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            targets.add(args[i]);
        }
        if (targets.isEmpty()) {
            targets = List.of("local");
        }
        String token = "bench-" + UUID.randomUUID();
        Path root = Files.createTempDirectory("derrick-pool-bench");
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.put("BENCH_GIT_TOKEN", token);
        List<String> lines = new ArrayList<>();
        try (GitTestServer git = GitTestServer.start(token)) {
            git.createRepository("small", Map.of("README.md", "small repository\n", "src/Main.java", "class Main {}\n"));
            dev.derrick.core.git.GitClient git1 = new dev.derrick.core.git.GitClient(environment, new dev.derrick.core.Redactor());
            RepositoryConfig repo = RepositoryConfig.of(git.url("small"), "code/small").withAuth(GitAuth.fromEnv("BENCH_GIT_TOKEN"));
            // where a claim's time goes: the ls-remote alone, with the same token
            lines.add(Stats.measure("ls-remote of the repository (JGit, token)", 3, runs, () -> git1.remoteHead(repo)).line());
            for (String target : targets) {
                String provider = target.contains(":") ? target.substring(0, target.indexOf(':')) : target;
                Map<String, Object> options = new HashMap<>();
                options.put("environment", environment);
                WorkspaceConfig.Builder builder = WorkspaceConfig.builder("bench-pool").repository(repo);
                if (provider.equals("docker")) {
                    options.put("root", "/workspace");
                    builder.image(target.contains("image=") ? target.substring(target.indexOf("image=") + 6)
                            : "derrick-test/debian:bookworm-git");
                    builder.setupScript("echo ready > /workspace/setup-done.txt");
                } else {
                    options.put("root", root.resolve(provider + "-ws").toString());
                    builder.setupScript("echo ready > setup-done.txt");
                }
                lines.addAll(bench(provider, options, root.resolve(provider + "-cache"), builder.build(), runs, size));
            }
        } finally {
            dev.derrick.core.cache.FileTrees.deleteQuietly(root);
        }
        System.out.println();
        System.out.println("=== PoolBench: medians of " + runs + " runs, pool of " + size + " ===");
        lines.forEach(System.out::println);
    }

    private static List<String> bench(String provider, Map<String, Object> base, Path cacheDir, WorkspaceConfig config,
                                      int runs, int size) throws Exception {
        Map<String, Object> plain = new HashMap<>(base);
        plain.put("cache_dir", cacheDir.resolve("plain").toString());
        Map<String, Object> pooled = new HashMap<>(base);
        pooled.put("cache_dir", cacheDir.resolve("pooled").toString());
        pooled.put("pool", size);
        List<String> lines = new ArrayList<>();
        try (WorkspaceProvider cached = WorkspaceProviders.open(provider, plain);
             WorkspacePool pool = (WorkspacePool) WorkspaceProviders.open(provider, pooled)) {
            cached.create(config).close(); // warm cache entries for both
            pool.create(config).close();
            pool.awaitIdle(Duration.ofMinutes(5));

            Stats fromCache = new Stats(provider + " create from the cache, no pool");
            Stats fromPool = new Stats(provider + " create from the pool (claim + ls-remote)");
            Stats cacheFirst = new Stats(provider + " create + first exec(\"true\"), no pool");
            Stats poolFirst = new Stats(provider + " create + first exec(\"true\"), pool");
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                Workspace a = cached.create(config);
                fromCache.add(System.nanoTime() - t0);
                a.exec("true");
                cacheFirst.add(System.nanoTime() - t0);
                a.close();

                long t1 = System.nanoTime();
                Workspace b = pool.create(config);
                fromPool.add(System.nanoTime() - t1);
                b.exec("true");
                poolFirst.add(System.nanoTime() - t1);
                b.close();
                pool.awaitIdle(Duration.ofMinutes(2));
            }

            // a burst of `size` creates back to back, the pool full before each burst
            List<Double> perSecond = new ArrayList<>();
            for (int r = 0; r < Math.max(3, runs / 4); r++) {
                pool.awaitIdle(Duration.ofMinutes(5));
                List<Workspace> made = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int i = 0; i < size; i++) {
                    made.add(pool.create(config));
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                perSecond.add(size / seconds);
                made.forEach(Workspace::close);
            }
            perSecond.sort(Double::compare);

            // fork ×8 of a workspace with changes (a 1 MB file and an edit in the repository), forks closed between runs
            Stats fork8 = new Stats(provider + " fork x8 (1 MB of changes)");
            Workspace source = cached.create(config);
            if (source.capabilities().contains(dev.derrick.api.Capability.FORK)) {
                source.writeFile("bench-changes.bin", new byte[1 << 20]);
                source.writeString("code/small/README.md", "changed\n");
                for (int i = 0; i < Math.max(5, runs / 2); i++) {
                    long t0 = System.nanoTime();
                    List<Workspace> forks = source.fork(8);
                    fork8.add(System.nanoTime() - t0);
                    forks.forEach(Workspace::close);
                }
            }
            source.close();
            lines.add(fromCache.line());
            lines.add(fromPool.line());
            lines.add(cacheFirst.line());
            lines.add(poolFirst.line());
            lines.add(String.format(Locale.ROOT, "%s pooled create / create from the cache: %s", provider,
                    Stats.ratio(fromPool, fromCache)));
            lines.add(String.format(Locale.ROOT, "%s creates per second from a full pool of %d (median of %d bursts): %.0f/s",
                    provider, size, perSecond.size(), perSecond.get(perSecond.size() / 2)));
            lines.add(provider + " pool stats: " + pool.stats());
            lines.add(fork8.count() == 0 ? provider + " fork: not supported" : fork8.line());
        }
        return lines;
    }
}
