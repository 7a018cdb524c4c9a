package dev.derrick.bench;

import dev.derrick.core.cache.FileTrees;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * {@code exec("true")} of one workspace in a loop with nothing else between its calls — sandboxed, {@code
 * isolation=none}, and a raw {@link ProcessBuilder} {@code sh -c true} — as an agent that runs one command after
 * another sees it. {@link LocalBench} interleaves many variants (fairer against drift, but each sandboxed call then
 * follows other process starts, and shows a heavier tail). Medians side by side in one run.
 *
 * <pre>
 * ./mvnw -q -pl derrick-bench -am package -DskipTests exec:java -Dexec.mainClass=dev.derrick.bench.SequentialExecBench [-Dexec.args="runs"]
 * </pre>
 */
public final class SequentialExecBench {
    private SequentialExecBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path root = Files.createTempDirectory("derrick-seq-bench");
        Stats sandbox = new Stats("exec(\"true\") in a loop, sandbox");
        Stats none = new Stats("exec(\"true\") in a loop, isolation=none");
        Stats raw = new Stats("ProcessBuilder sh -c true in a loop");
        try (WorkspaceProvider sp = WorkspaceProviders.open("local", Map.of("root", root.resolve("s").toString(),
                "cache", false, "isolation", "sandbox"));
             WorkspaceProvider np = WorkspaceProviders.open("local", Map.of("root", root.resolve("n").toString(),
                     "cache", false, "isolation", "none"));
             Workspace s = sp.create(WorkspaceConfig.builder("seq-sandbox").build());
             Workspace n = np.create(WorkspaceConfig.builder("seq-none").build())) {
            for (int round = 0; round < 3; round++) { // three passes, alternating, so drift hits all alike
                loop(sandbox, runs / 3, () -> s.exec("true").orThrow());
                loop(none, runs / 3, () -> n.exec("true").orThrow());
                loop(raw, runs / 3, SequentialExecBench::raw);
            }
        } finally {
            FileTrees.deleteQuietly(root);
        }
        System.out.printf(Locale.ROOT, "%nsequential exec, %d cores, java %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"));
        System.out.println(sandbox.line());
        System.out.println(none.line());
        System.out.println(raw.line());
        System.out.println(Stats.ratio(sandbox, raw));
        System.out.println(Stats.ratio(none, raw));
        System.out.printf(Locale.ROOT, "sandbox adds %.2f ms per exec (median sandbox - median none)%n",
                sandbox.medianMillis() - none.medianMillis());
    }

    private interface Action {
        void run() throws Exception;
    }

    private static void loop(Stats stats, int n, Action action) throws Exception {
        for (int i = 0; i < 10; i++) {
            action.run(); // warm-up, not counted
        }
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            action.run();
            stats.add(System.nanoTime() - start);
        }
    }

    private static void raw() throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", "true").start();
        p.getOutputStream().close();
        p.getInputStream().readAllBytes();
        p.getErrorStream().readAllBytes();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("sh -c true failed");
        }
    }
}
