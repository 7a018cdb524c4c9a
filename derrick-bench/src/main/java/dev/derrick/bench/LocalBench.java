package dev.derrick.bench;

import dev.derrick.core.cache.FileTrees;
import dev.derrick.api.ExecResult;
import dev.derrick.api.GitAuth;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.exec.CommandEnvironment;
import dev.derrick.core.exec.ProcessRunner;
import dev.derrick.core.exec.ProcessSpec;
import dev.derrick.tck.GitTestServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

/**
 * Figures for the local provider, medians side by side in one run:
 * <ul>
 *   <li>creating a workspace with a small repository (cloned over HTTP from a token-protected {@link GitTestServer})
 *       and a trivial setup script, and closing it — with the provisioning cache off, and on with a warm entry, the
 *       latter sandboxed ({@code isolation=sandbox}, bubblewrap) and not ({@code isolation=none});</li>
 *   <li>a warm sandboxed create with network off (no slirp4netns to attach) next to the default on;</li>
 *   <li>{@code exec("true")} through a sandboxed workspace (network on, and off), an {@code isolation=none} one, {@link ProcessRunner}
 *       directly, and a raw {@link ProcessBuilder} {@code sh -c true} baseline (plus {@code setsid bash -c true}, what
 *       an unsandboxed workspace starts).</li>
 * </ul>
 * The variants of one measurement take turns run by run, so drift on a noisy machine hits them alike.
 *
 * <pre>
 * ./mvnw -q -pl derrick-bench -am exec:java -Dexec.mainClass=dev.derrick.bench.LocalBench [-Dexec.args="createRuns execRuns"]
 * </pre>
 */
public final class LocalBench {
    private LocalBench() {
    }

    public static void main(String[] args) throws Exception {
        int createRuns = args.length > 0 ? Integer.parseInt(args[0]) : 25;
        int execRuns = args.length > 1 ? Integer.parseInt(args[1]) : 101;
        String token = "bench-" + UUID.randomUUID();
        Path root = Files.createTempDirectory("derrick-local-bench");
        Map<String, String> environment = new HashMap<>(System.getenv());
        environment.put("BENCH_GIT_TOKEN", token);
        try (GitTestServer git = GitTestServer.start(token);
             WorkspaceProvider local = WorkspaceProviders.open("local", Map.of("root", root.resolve("plain").toString(),
                     "environment", environment, "cache", false));
             WorkspaceProvider cached = WorkspaceProviders.open("local", Map.of("root", root.resolve("cached").toString(),
                     "environment", environment, "cache_dir", root.resolve("cache").toString(), "isolation", "sandbox"));
             WorkspaceProvider cachedNone = WorkspaceProviders.open("local", Map.of("root", root.resolve("none").toString(),
                     "environment", environment, "cache_dir", root.resolve("cache-none").toString(), "isolation", "none"));
             WorkspaceProvider plainNone = WorkspaceProviders.open("local", Map.of("root", root.resolve("plain-none").toString(),
                     "environment", environment, "cache", false, "isolation", "none"))) {
            git.createRepository("small", Map.of("README.md", "small repository\n", "src/Main.java", "class Main {}\n",
                    "pom.xml", "<project/>\n"));
            WorkspaceConfig config = WorkspaceConfig.builder("bench-small")
                    .repository(RepositoryConfig.of(git.url("small"), "code/small").withAuth(GitAuth.fromEnv("BENCH_GIT_TOKEN")))
                    .setupScript("echo ready > setup-done.txt")
                    .build();

            Stats create = new Stats("local create, cache off (clone + setup)");
            Stats close = new Stats("local workspace close, cache off");
            Stats createCached = new Stats("local create, cache on (warm entry), sandbox");
            Stats closeCached = new Stats("local workspace close, cache on, sandbox");
            Stats createCachedNone = new Stats("local create, cache on (warm entry), isolation=none");
            Stats closeCachedNone = new Stats("local workspace close, cache on, isolation=none");
            Stats createCachedOff = new Stats("local create, cache on (warm entry), sandbox, network off");
            Stats closeCachedOff = new Stats("local workspace close, cache on, sandbox, network off");
            WorkspaceConfig offline = config.withNetwork(NetworkPolicy.OFF);
            List<WorkspaceProvider> providers = List.of(local, cached, cachedNone, cached);
            List<WorkspaceConfig> configs = List.of(config, config, config, offline);
            List<Stats> creates = List.of(create, createCached, createCachedNone, createCachedOff);
            List<Stats> closes = List.of(close, closeCached, closeCachedNone, closeCachedOff);
            for (int i = 0; i < 3 + createRuns; i++) {
                for (int v = 0; v < providers.size(); v++) {
                    long start = System.nanoTime();
                    Workspace ws = providers.get(v).create(configs.get(v));
                    long created = System.nanoTime();
                    ws.close();
                    long closed = System.nanoTime();
                    if (i >= 3) {
                        creates.get(v).add(created - start);
                        closes.get(v).add(closed - created);
                    }
                }
            }

            Stats viaWorkspace = new Stats("exec(\"true\") via local workspace, sandbox");
            Stats viaOff = new Stats("exec(\"true\") via local workspace, sandbox, network off");
            Stats viaNone = new Stats("exec(\"true\") via local workspace, isolation=none");
            Stats viaRunner = new Stats("ProcessRunner bash -c true (setsid)");
            Stats rawSetsidBash = new Stats("ProcessBuilder setsid bash -c true");
            Stats rawSh = new Stats("ProcessBuilder sh -c true (baseline)");
            Path dir = Files.createTempDirectory("derrick-bench-exec");
            CommandEnvironment env = new CommandEnvironment(System.getenv());
            try (Workspace ws = local.create(WorkspaceConfig.builder("bench-exec").build());
                 Workspace wsOff = local.create(WorkspaceConfig.builder("bench-exec-off").network(NetworkPolicy.OFF).build());
                 Workspace wsNone = plainNone.create(WorkspaceConfig.builder("bench-exec-none").build());
                 ProcessRunner runner = new ProcessRunner()) {
                // "sandbox (network on (slirp4netns …))": isolation names the network and limits after the word
                if (!ws.info().isolation().startsWith("sandbox (network on")
                        || !wsOff.info().isolation().startsWith("sandbox (network off")
                        || !"none".equals(wsNone.info().isolation())) {
                    throw new IllegalStateException("expected a sandboxed and an unsandboxed workspace, got "
                            + ws.info().isolation() + " and " + wsNone.info().isolation());
                }
                ProcessSpec spec = ProcessSpec.of("true", dir, env.base());
                List<Variant> variants = List.of(
                        new Variant(viaWorkspace, () -> check(ws.exec("true"))),
                        new Variant(viaOff, () -> check(wsOff.exec("true"))),
                        new Variant(viaNone, () -> check(wsNone.exec("true"))),
                        new Variant(viaRunner, () -> check(runner.run(spec))),
                        new Variant(rawSetsidBash, () -> raw(dir, env.base(), "/usr/bin/setsid", "/bin/bash", "-c", "true")),
                        new Variant(rawSh, () -> raw(dir, env.base(), "/bin/sh", "-c", "true")));
                // A fresh (seeded) order every round: a variant run right after the raw baseline was seen to pay
                // ~8 ms more than the same variant elsewhere, so no variant may always follow the same one.
                java.util.Random order = new java.util.Random(42);
                List<Variant> round = new java.util.ArrayList<>(variants);
                for (int i = 0; i < 20 + execRuns; i++) {
                    java.util.Collections.shuffle(round, order);
                    for (Variant v : round) {
                        long start = System.nanoTime();
                        v.action.call();
                        if (i >= 20) {
                            v.stats.add(System.nanoTime() - start);
                        }
                    }
                }
            } finally {
                Files.deleteIfExists(dir);
            }

            System.out.println();
            System.out.printf(Locale.ROOT, "local provider, %d cores, java %s%n", Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.version"));
            System.out.println(create.line());
            System.out.println(close.line());
            System.out.println(createCached.line());
            System.out.println(closeCached.line());
            System.out.println(createCachedNone.line());
            System.out.println(closeCachedNone.line());
            System.out.println(createCachedOff.line());
            System.out.println(closeCachedOff.line());
            System.out.println(viaWorkspace.line());
            System.out.println(viaOff.line());
            System.out.println(viaNone.line());
            System.out.println(viaRunner.line());
            System.out.println(rawSetsidBash.line());
            System.out.println(rawSh.line());
            System.out.println(Stats.ratio(viaWorkspace, rawSh));
            System.out.println(Stats.ratio(viaNone, rawSh));
            System.out.println(Stats.ratio(viaWorkspace, viaNone));
            System.out.printf(Locale.ROOT, "sandbox adds %.2f ms per exec (median sandbox - median none)%n",
                    viaWorkspace.medianMillis() - viaNone.medianMillis());
            System.out.println(Stats.ratio(viaRunner, rawSh));
            System.out.println(Stats.ratio(rawSetsidBash, rawSh));
            System.out.println(Stats.ratio(viaWorkspace, rawSetsidBash));
            System.out.println(Stats.ratio(create, rawSh));
            System.out.println(Stats.ratio(createCached, create));
            System.out.println(Stats.ratio(createCached, createCachedNone));
            System.out.println(Stats.ratio(createCached, createCachedOff));
            System.out.println(Stats.ratio(viaWorkspace, viaOff));
        } finally {
            FileTrees.deleteQuietly(root);
        }
    }

    private record Variant(Stats stats, Callable<?> action) {
    }

    private static Object check(ExecResult r) {
        if (!r.succeeded()) {
            throw new IllegalStateException("bench command failed: " + r);
        }
        return r;
    }

    private static Object raw(Path dir, Map<String, String> env, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        p.getInputStream().readAllBytes();
        p.getErrorStream().readAllBytes();
        int exit = p.waitFor();
        if (exit != 0) {
            throw new IllegalStateException("baseline failed with " + exit);
        }
        return exit;
    }

}
