package dev.derrick.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Makes a small git repository and a workspace config pointing at it, with the {@code git} command; offline. */
final class DemoRepository {
    private DemoRepository() {
    }

    /** A temporary repository with a {@code build.sh}, and the path of a workspace.json that clones it. */
    static Path createWithConfig() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("derrick-demo-");
        Path repo = Files.createDirectories(dir.resolve("demo.git-src"));
        Files.writeString(repo.resolve("README.md"), "# demo\n");
        Path build = repo.resolve("build.sh");
        Files.writeString(build, "#!/bin/sh\necho compiling\nsleep 0.2\necho 'warning: nothing to do' >&2\necho BUILD OK\n");
        Files.setPosixFilePermissions(build, PosixFilePermissions.fromString("rwxr-xr-x"));
        git(repo, "init", "-q", "-b", "main");
        git(repo, "add", ".");
        git(repo, "-c", "user.name=demo", "-c", "user.email=demo@example.invalid", "commit", "-q", "-m", "initial");
        Path config = dir.resolve("workspace.json");
        Files.writeString(config, """
                {
                  "name": "embedding-demo",
                  "repositories": [ { "url": "%s", "path": "code/demo" } ],
                  "setup_script": "echo setup done > setup.log"
                }
                """.formatted(repo.toUri()));
        return config;
    }

    /** Removes what {@link #createWithConfig()} made. */
    static void delete(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void git(Path dir, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("git"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("git " + String.join(" ", args) + " failed: " + output);
        }
    }
}
