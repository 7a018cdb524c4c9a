package dev.derrick.bench;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.git.GitClient;
import dev.derrick.docker.DockerCacheImages;
import dev.derrick.tck.GitTestServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * Figures for the provisioning cache: cold create, warm create, fetch of one new commit, fresh clone of the same
 * repository, reset — per backend, side by side in one run, medians.
 *
 * <p>The repository (≥ 5,000 files, ≥ 50 MB of incompressible content) is generated into a {@link GitTestServer};
 * the setup script takes ≥ 5 s ({@code sleep 5}).
 *
 * <pre>
 * java -cp … dev.derrick.bench.CacheBench [runs] [target…]
 *   target: local:cache_mode=overlay  local:cache_mode=copy  docker:image=derrick-test/busybox:1
 * </pre>
 */
public final class CacheBench {
    static final String TOKEN = "bench-" + UUID.randomUUID();
    static final int FILES = 5_200;
    static final int FILE_BYTES = 10_240;

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        List<String> targets = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            targets.add(args[i]);
        }
        if (targets.isEmpty()) {
            targets = List.of("local:cache_mode=overlay", "local:cache_mode=copy");
        }
        try (GitTestServer git = GitTestServer.start(TOKEN)) {
            long genStart = System.nanoTime();
            generate(git, "big");
            System.out.printf(Locale.ROOT, "generated repository: %d files, %.1f MB, in %.1f s%n", FILES,
                    FILES * (double) FILE_BYTES / 1e6, (System.nanoTime() - genStart) / 1e9);
            WorkspaceConfig.Builder builder = WorkspaceConfig.builder("bench")
                    .repository(RepositoryConfig.of(git.url("big"), "code/big").withAuth(GitAuth.inline(TOKEN)))
                    .setupScript("sleep 5 && echo done > setup-done.txt");

            Stats clone = new Stats("fresh clone (JGit, provider side)");
            GitClient client = new GitClient(Map.of(), new Redactor());
            for (int i = 0; i < runs; i++) {
                Path dir = Files.createTempDirectory("derrick-bench-clone");
                long start = System.nanoTime();
                client.cloneRepository(builder.build().repositories().get(0), dir.resolve("big"), null);
                clone.add(System.nanoTime() - start);
                FileTrees.delete(dir);
            }

            List<Stats[]> all = new ArrayList<>();
            for (String target : targets) {
                all.add(run(git, target, builder, runs));
            }

            System.out.println();
            System.out.println("=== CacheBench: medians of " + runs + " runs (warm: " + (runs * 3) + ") ===");
            System.out.println(clone.line());
            for (Stats[] s : all) {
                for (Stats st : s) {
                    System.out.println(st.line());
                }
                System.out.println(Stats.ratio(s[1], s[0]) + "   (target <= 0.15)");
                System.out.println(Stats.ratio(s[2], clone) + "   (target <= 0.10)");
                System.out.println(Stats.ratio(s[3], s[0]) + "   (target <= 0.20)");
            }
        }
    }

    static Stats[] run(GitTestServer git, String target, WorkspaceConfig.Builder builder, int runs) throws Exception {
        String[] parts = target.split(":", 2);
        String backend = parts[0];
        Map<String, Object> options = new LinkedHashMap<>();
        if (parts.length > 1) {
            for (String kv : parts[1].split(",")) {
                String[] p = kv.split("=", 2);
                options.put(p[0], p[1]);
            }
        }
        WorkspaceConfig config = builder.build();
        if (options.containsKey("image")) {
            config = config.withImage((String) options.remove("image"));
        }
        Stats cold = new Stats(target + " cold create");
        Stats warm = new Stats(target + " warm create");
        Stats fetch = new Stats(target + " fetch (1 new commit)");
        Stats reset = new Stats(target + " reset");
        Random random = new Random(7);
        for (int i = 0; i < runs; i++) {
            Path cacheDir = Files.createTempDirectory("derrick-bench-cache");
            Map<String, Object> opts = new LinkedHashMap<>(options);
            opts.put("cache_dir", cacheDir.toString());
            try (WorkspaceProvider provider = WorkspaceProviders.open(backend, opts)) {
                long start = System.nanoTime();
                Workspace first = provider.create(config);
                cold.add(System.nanoTime() - start);
                first.close();
                Workspace ws = null;
                for (int w = 0; w < 3; w++) {
                    start = System.nanoTime();
                    Workspace next = provider.create(config);
                    warm.add(System.nanoTime() - start);
                    if (ws != null) {
                        ws.close();
                    }
                    ws = next;
                }
                // A task: edit, add and delete files in and outside the repository.
                for (int f = 0; f < 20; f++) {
                    ws.writeString("code/big/d" + random.nextInt(52) + "/f" + random.nextInt(100) + ".bin", "edited " + f);
                    ws.writeString("task-output/" + f + ".txt", "out " + f);
                }
                ws.exec("rm -rf code/big/d0");
                start = System.nanoTime();
                ws.reset();
                reset.add(System.nanoTime() - start);

                git.commit("big", Map.of("bench/commit-" + UUID.randomUUID() + ".txt", "one more\n"), "one new commit");
                start = System.nanoTime();
                List<RepositoryFetch> fetched = ws.fetch();
                fetch.add(System.nanoTime() - start);
                if (!fetched.get(0).updated()) {
                    throw new IllegalStateException("fetch did not move: " + fetched);
                }
                ws.close();
            } finally {
                if (backend.equals("docker")) {
                    removeCacheImages(cacheDir);
                }
                FileTrees.deleteQuietly(cacheDir);
            }
            System.out.printf(Locale.ROOT, "%s run %d: cold %.0f ms%n", target, i + 1, cold.percentileMillis(100));
        }
        return new Stats[]{cold, warm, fetch, reset};
    }

    /** Removes the docker cache images of a cache directory (the provider keeps them; the bench's directory goes). */
    static void removeCacheImages(Path cacheDir) {
        try {
            DockerCacheImages.removeAll(cacheDir, System.getenv());
        } catch (RuntimeException e) {
            System.err.println("could not remove the cache images of " + cacheDir + ": " + e.getMessage());
        }
    }

    /** FILES files of FILE_BYTES random bytes in directories of 100. */
    static void generate(GitTestServer git, String name) {
        Random random = new Random(42);
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 0; i < FILES; i++) {
            byte[] content = new byte[FILE_BYTES];
            random.nextBytes(content);
            files.put("d" + (i / 100) + "/f" + (i % 100) + ".bin", content);
        }
        git.createRepository(name, Map.of("README.md", "bench\n"));
        git.commitBytes(name, files, "generated content");
    }
}
