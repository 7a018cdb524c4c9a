package dev.derrick.bench;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceDiff;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.GitTestServer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * {@code Workspace.diff()} of a 5,000-file repository with 10 changed files (8 modified, 1 added, 1 deleted), next
 * to the same {@code git add -A} into a scratch index and {@code git diff --binary} run by hand on the host, in one
 * run, medians. The repository is generated into a {@link GitTestServer} and cloned into a {@code local} workspace.
 *
 * <pre>
 * java -cp … dev.derrick.bench.DiffBench [runs=30] [provider options as key=value …]
 * </pre>
 */
public final class DiffBench {
    static final String TOKEN = "bench-" + UUID.randomUUID();
    static final int FILES = 5_000;

    private DiffBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        Map<String, Object> options = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            options.put(kv[0], kv[1]);
        }
        try (GitTestServer git = GitTestServer.start(TOKEN);
             WorkspaceProvider provider = WorkspaceProviders.open("local", options)) {
            Map<String, String> files = new LinkedHashMap<>();
            for (int i = 0; i < FILES; i++) {
                files.put("src/d" + (i / 100) + "/F" + i + ".java", "class F" + i + " {\n    int value = " + i + ";\n}\n");
            }
            git.createRepository("big", Map.of("README.md", "bench\n"));
            git.commit("big", files, "5000 files");
            WorkspaceConfig config = WorkspaceConfig.builder("diff-bench")
                    .repository(RepositoryConfig.of(git.url("big"), "code/big").withAuth(GitAuth.inline(TOKEN))).build();
            try (Workspace ws = provider.create(config)) {
                for (int i = 0; i < 8; i++) {
                    ws.editFile("code/big/src/d" + i + "/F" + (i * 100) + ".java", "int value", "long value", false);
                }
                ws.writeString("code/big/src/NEW.java", "class NEW {}\n");
                ws.exec("rm code/big/README.md").orThrow();
                WorkspaceDiff first = ws.diff();
                int changed = first.repositories().get(0).files().size();
                if (changed != 10) {
                    throw new IllegalStateException("expected 10 changed files, got " + changed);
                }
                Stats diff = Stats.measure("Workspace.diff(): 5,000 files, 10 changed (local)", 3, runs, ws::diff);
                Path repo = Path.of(ws.info().root()).resolve("code/big");
                String commit = ws.info().repositories().get(0).commit();
                Stats raw = Stats.measure("git add -A + diff --binary by hand on the host", 3, runs, () -> {
                    Path index = Files.createTempFile("bench-index", "");
                    try {
                        Files.copy(repo.resolve(".git/index"), index, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                        // the sandbox user owns the work tree: git on the host, as root, must be told it is safe
                        run(repo, index, "git", "-c", "safe.directory=*", "add", "-A", ".");
                        run(repo, index, "git", "-c", "safe.directory=*", "diff", "--cached", "--binary", "--full-index", commit);
                    } finally {
                        Files.deleteIfExists(index);
                    }
                    return null;
                });
                System.out.println("=== DiffBench: " + runs + " runs, medians ===");
                System.out.println(diff.line());
                System.out.println(raw.line());
                System.out.println(Stats.ratio(diff, raw));
                System.out.printf(Locale.ROOT, "patch: %d bytes, %d files%n",
                        first.repositories().get(0).patch().length(), changed);
            }
        }
    }

    private static void run(Path dir, Path index, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("GIT_INDEX_FILE", index.toString());
        Process p = pb.start();
        p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed");
        }
    }
}
