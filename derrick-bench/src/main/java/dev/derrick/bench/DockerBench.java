package dev.derrick.bench;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.GitTestServer;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.utility.DockerImageName;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Figures for the docker provider, side by side in one run (medians): workspace create (small repository from a
 * token-protected {@link GitTestServer}, trivial setup script), {@code exec("true")} through derrick, the same with
 * the {@code docker exec} CLI on the same container, and with Testcontainers' {@code execInContainer} on a container
 * of the same image.
 *
 * <pre>
 * source scripts/test-env.sh
 * TESTCONTAINERS_CHECKS_DISABLE=true java -cp … dev.derrick.bench.DockerBench [runs] [image]
 * </pre>
 */
public final class DockerBench {
    private DockerBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        String image = args.length > 1 ? args[1]
                : System.getenv().getOrDefault("DERRICK_BUSYBOX_IMAGE", "derrick-test/busybox:1");
        String token = "bench-" + UUID.randomUUID();
        try (GitTestServer git = GitTestServer.start(token);
             WorkspaceProvider docker = WorkspaceProviders.open("docker", Map.of())) {
            git.createRepository("small", Map.of("README.md", "hello\n", "src/Main.java", "class Main {}\n",
                    "build.sh", "#!/bin/sh\necho build\n"));
            WorkspaceConfig config = WorkspaceConfig.builder("bench").image(image)
                    .repository(RepositoryConfig.of(git.url("small"), "code/small").withAuth(GitAuth.inline(token)))
                    .setupScript("echo ok > /tmp/setup-done")
                    .build();

            Stats create = new Stats("docker: workspace create (small repo, setup)");
            Stats close = new Stats("docker: workspace close");
            for (int i = 0; i < runs + 2; i++) {
                long start = System.nanoTime();
                Workspace ws = docker.create(config);
                long created = System.nanoTime();
                ws.close();
                long closed = System.nanoTime();
                if (i >= 2) {
                    create.add(created - start);
                    close.add(closed - created);
                }
            }

            Stats derrickExec;
            Stats cliExec;
            try (Workspace ws = docker.create(config)) {
                derrickExec = Stats.measure("derrick: exec(\"true\")", 5, runs * 3, () -> {
                    if (!ws.exec("true").succeeded()) {
                        throw new IllegalStateException("true failed");
                    }
                    return null;
                });
                String container = "derrick-" + ws.id();
                cliExec = Stats.measure("docker exec CLI: true", 3, runs * 3, () -> {
                    Process p = new ProcessBuilder("docker", "exec", container, "true")
                            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                        throw new IllegalStateException("docker exec failed");
                    }
                    return null;
                });
            }

            Stats tcStart = new Stats("testcontainers: GenericContainer start+stop");
            Stats tcExec;
            for (int i = 0; i < Math.max(3, runs / 4); i++) {
                long start = System.nanoTime();
                try (GenericContainer<?> c = container(image)) {
                    c.start();
                }
                tcStart.add(System.nanoTime() - start);
            }
            try (GenericContainer<?> c = container(image)) {
                c.start();
                tcExec = Stats.measure("testcontainers: execInContainer(\"true\")", 5, runs * 3, () -> {
                    if (c.execInContainer("true").getExitCode() != 0) {
                        throw new IllegalStateException("true failed");
                    }
                    return null;
                });
            }

            System.out.println();
            System.out.println("=== DockerBench on " + image + ": medians, one run ===");
            for (Stats s : List.of(create, close, tcStart, derrickExec, cliExec, tcExec)) {
                System.out.println(s.line());
            }
            System.out.println(Stats.ratio(derrickExec, cliExec));
            System.out.println(Stats.ratio(derrickExec, tcExec));
        }
    }

    @SuppressWarnings("resource")
    private static GenericContainer<?> container(String image) {
        return new GenericContainer<>(DockerImageName.parse(image)).withCommand("sleep", "3600");
    }
}
