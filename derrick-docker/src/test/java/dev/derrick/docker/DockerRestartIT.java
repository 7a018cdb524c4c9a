package dev.derrick.docker;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.cache.FileTrees;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * dockerd restarted while workspaces exist, on a <em>separate</em> engine this test starts (own socket, data root
 * and exec root, the busybox test image loaded into it), never the shared one: during the outage every operation
 * fails with a clear error within seconds, never hangs; after the restart the old workspace is reported lost or
 * works, and new workspaces work.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class DockerRestartIT {
    static Path dir;
    static Process dockerd;
    static String socket;

    @BeforeAll
    static void startEngine() throws Exception {
        DockerTestSupport.requireEngine();
        dir = Files.createTempDirectory("derrick-dockerd-");
        socket = "unix://" + dir.resolve("docker.sock");
        startDockerd();
        // the image, from the shared engine into this one
        sh("docker save " + BUSYBOX + " | docker -H " + socket + " load");
    }

    static void startDockerd() throws Exception {
        Files.createDirectories(dir.resolve("data"));
        Files.createDirectories(dir.resolve("exec"));
        dockerd = new ProcessBuilder("dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--storage-driver=overlay2", "--data-root", dir.resolve("data").toString(),
                "--exec-root", dir.resolve("exec").toString(), "--pidfile", dir.resolve("docker.pid").toString(),
                "-H", socket).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("dockerd.log").toFile())).start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < until) {
            if (new ProcessBuilder("docker", "-H", socket, "version").start().waitFor() == 0) {
                return;
            }
            if (!dockerd.isAlive()) {
                throw new AssertionError("dockerd exited: " + Files.readString(dir.resolve("dockerd.log")));
            }
            Thread.sleep(250);
        }
        throw new AssertionError("dockerd did not come up: " + Files.readString(dir.resolve("dockerd.log")));
    }

    static void stopDockerd() throws Exception {
        dockerd.destroy();
        if (!dockerd.waitFor(60, TimeUnit.SECONDS)) {
            dockerd.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void stopEngine() throws Exception {
        if (dockerd != null && dockerd.isAlive()) {
            try {
                sh("docker -H " + socket + " rm -f $(docker -H " + socket + " ps -aq) 2>/dev/null || true");
            } finally {
                stopDockerd();
            }
        }
        if (dir != null) {
            sh("umount -R " + dir.resolve("data") + " 2>/dev/null; umount -R " + dir.resolve("exec") + " 2>/dev/null; true");
            FileTrees.deleteQuietly(dir);
        }
    }

    @Test
    void operationsFailClearlyDuringAnOutageAndWorkAfter() throws Exception {
        Map<String, String> env = new java.util.HashMap<>(DockerTestSupport.providerEnv());
        env.put("DOCKER_HOST", socket);
        try (DockerWorkspaceProvider provider = DockerWorkspaceProvider.open(Map.of(), env)) {
            WorkspaceConfig config = WorkspaceConfig.builder("restart").image(BUSYBOX).setupScript("echo ready > /setup.txt").build();
            Workspace ws = provider.create(config);
            assertThat(ws.exec("cat /setup.txt").stdout()).isEqualTo("ready\n");

            stopDockerd();
            int failed = 0;
            for (Runnable op : List.<Runnable>of(() -> ws.exec("true"), () -> ws.readFile("/setup.txt"),
                    () -> ws.writeString("x.txt", "x"), () -> ws.listFiles("/"), () -> provider.create(config))) {
                long start = System.nanoTime();
                try {
                    op.run();
                } catch (DerrickException e) {
                    failed++;
                    assertThat(e.getMessage()).as("a clear message").doesNotContain("Exception:").isNotBlank();
                    System.out.println("[docker-restart] during the outage: " + e.getClass().getSimpleName() + ": "
                            + e.getMessage());
                }
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("no hang").isLessThan(Duration.ofSeconds(45));
            }
            assertThat(failed).isEqualTo(5);

            startDockerd();
            // the old workspace: works (container restarted) or is reported lost — never a hang or a 500-style fault
            long start = System.nanoTime();
            String after;
            try {
                after = "works: " + ws.exec(ExecRequest.of("cat /setup.txt")).stdout().strip();
            } catch (DerrickException e) {
                after = "lost: " + e.getClass().getSimpleName() + ": " + e.getMessage();
                assertThat(e).isInstanceOfAny(dev.derrick.api.WorkspaceNotFoundException.class,
                        dev.derrick.api.ProviderUnavailableException.class, DerrickException.class);
                assertThat(e.getMessage()).isNotBlank();
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(45));
            System.out.println("[docker-restart] old workspace after the restart: " + after);
            try (Workspace fresh = provider.create(config)) {
                assertThat(fresh.exec("cat /setup.txt").stdout()).isEqualTo("ready\n");
            }
            ws.close();
        }
    }

    private static void sh(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(command + " failed: " + out);
        }
    }
}
