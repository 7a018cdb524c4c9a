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
 * java -cp … dev.derrick.bench.PoolBench [runs] [poolSize]
 * </pre>
 */
public final class PoolBench {
    private PoolBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 21;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        String token = "bench-" + UUID.randomUUID();
        Path root = Files.createTempDirectory("derrick-pool-bench");
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.put("BENCH_GIT_TOKEN", token);
        try (GitTestServer git = GitTestServer.start(token);
             WorkspaceProvider cached = WorkspaceProviders.open("local", Map.of("root", root.resolve("cached").toString(),
                     "environment", environment, "cache_dir", root.resolve("cache").toString()));
             WorkspacePool pool = (WorkspacePool) WorkspaceProviders.open("local", Map.of("root", root.resolve("pooled").toString(),
                     "environment", environment, "cache_dir", root.resolve("cache-pool").toString(), "pool", size))) {
            git.createRepository("small", Map.of("README.md", "small repository\n", "src/Main.java", "class Main {}\n"));
            WorkspaceConfig config = WorkspaceConfig.builder("bench-pool")
                    .repository(RepositoryConfig.of(git.url("small"), "code/small").withAuth(GitAuth.fromEnv("BENCH_GIT_TOKEN")))
                    .setupScript("echo ready > setup-done.txt")
                    .build();
            cached.create(config).close(); // warm cache entries for both
            pool.create(config).close();
            pool.awaitIdle(Duration.ofMinutes(2));

            Stats fromCache = new Stats("local create from the cache, no pool (sandbox)");
            Stats fromPool = new Stats("local create from the pool (claim + ls-remote)");
            Stats cacheFirst = new Stats("local create + first exec(\"true\"), no pool");
            Stats poolFirst = new Stats("local create + first exec(\"true\"), pool");
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
                pool.awaitIdle(Duration.ofMinutes(1));
            }

            // where a claim's time goes: the ls-remote alone, with the same token
            dev.derrick.core.git.GitClient git1 = new dev.derrick.core.git.GitClient(environment, new dev.derrick.core.Redactor());
            Stats lsRemote = Stats.measure("ls-remote of the repository (JGit, token)", 3, runs,
                    () -> git1.remoteHead(config.repositories().get(0)));

            // a burst of `size` creates back to back, the pool full before each burst
            List<Double> perSecond = new ArrayList<>();
            for (int r = 0; r < Math.max(3, runs / 4); r++) {
                pool.awaitIdle(Duration.ofMinutes(2));
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
            double medianRate = perSecond.get(perSecond.size() / 2);

            System.out.println(fromCache.line());
            System.out.println(fromPool.line());
            System.out.println(lsRemote.line());
            System.out.println(cacheFirst.line());
            System.out.println(poolFirst.line());
            System.out.printf(Locale.ROOT, "pooled create vs cache create: %s%n", Stats.ratio(fromPool, fromCache));
            System.out.printf(Locale.ROOT, "creates per second with a pool of %d (burst of %d, median of %d bursts): %.0f/s%n",
                    size, size, perSecond.size(), medianRate);
            System.out.println("pool stats: " + pool.stats());
        } finally {
            dev.derrick.core.cache.FileTrees.deleteQuietly(root);
        }
    }
}
