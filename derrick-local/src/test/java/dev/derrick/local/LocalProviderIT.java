package dev.derrick.local;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.GitAuth;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import dev.derrick.tck.WorkspaceProviderContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The TCK against the local provider, plus what only a local provider can show. */
class LocalProviderIT extends WorkspaceProviderContract {
    final Path root = createRoot();

    static Path createRoot() {
        try {
            return Files.createTempDirectory("derrick-local-it");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    protected String providerName() {
        return "local";
    }

    @Override
    protected Map<String, Object> providerOptions(Map<String, String> environment) {
        return Map.of("environment", environment, "root", root.toString(), "isolation", isolation());
    }

    /** {@code sandbox} here (so a machine without a working bubblewrap fails instead of testing less); {@code none} in {@link LocalUnsandboxedProviderIT}. */
    protected String isolation() {
        return "sandbox";
    }

    boolean sandboxed() {
        return isolation().equals("sandbox");
    }

    /** Sandboxed, the file API works inside the sandbox: a link to /etc/passwd reads the sandbox's (the host's, read-only). */
    @Override
    protected boolean fileApiSpansTheWholeMachine() {
        return sandboxed();
    }

    /** Sandboxed: every isolation promise, checked; unsandboxed: none. */
    @Override
    protected Set<IsolationGuarantee> isolationGuarantees() {
        return sandboxed() ? java.util.EnumSet.allOf(IsolationGuarantee.class) : Set.of();
    }

    @Override
    protected boolean skipWhenWalkingFiles(String path) {
        // the sandbox's system directories are the host's, mounted read-only: not the workspace's files
        return sandboxed() && dev.derrick.local.internal.sandbox.SandboxSupport.RESERVED.contains(path);
    }

    @Override
    protected void assertNoProcessLeft(Workspace ws, String marker) throws InterruptedException {
        super.assertNoProcessLeft(ws, marker);
        awaitNoProcessWith(marker);
    }

    @Override
    protected void assertNothingLeftBehind(Set<String> idsBefore) {
        assertThat(entries(root)).allMatch(idsBefore::contains);
    }

    @AfterAll
    void removeRoot() {
        dev.derrick.local.internal.TreeDeleter.delete(root);
    }

    static List<String> entries(Path dir) {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Live (non-zombie) processes whose environment holds the marker, found through /proc. */
    static List<Long> processesWith(String marker) {
        List<Long> found = new ArrayList<>();
        byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : procs) {
                try {
                    String stat = Files.readString(p.resolve("stat"), StandardCharsets.ISO_8859_1);
                    if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                        continue;
                    }
                    if (new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.ISO_8859_1)
                            .contains(new String(needle, StandardCharsets.ISO_8859_1))) {
                        found.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException | RuntimeException e) {
                    // gone meanwhile
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return found;
    }

    static void awaitNoProcessWith(String marker) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!processesWith(marker).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(processesWith(marker)).as("processes still running with marker %s", marker).isEmpty();
    }

    static String marker() {
        return "localmarker" + UUID.randomUUID().toString().replace("-", "");
    }

    // ---- local only ---------------------------------------------------------------------------------------------

    /** The new file operations never act outside the workspace through a planted link, with or without a sandbox. */
    @Test
    void fileOperationsThroughALinkOutOfTheWorkspaceAreRefused() throws Exception {
        Path outside = Files.createTempDirectory("derrick-outside-");
        try {
            Files.writeString(outside.resolve("victim.txt"), "keep me");
            Workspace ws = shared();
            String link = "escape-" + UUID.randomUUID().toString().substring(0, 8);
            ws.exec("ln -s " + outside + " " + link).orThrow();
            assertThatThrownBy(() -> ws.mkdirs(link + "/made")).isInstanceOf(DerrickException.class);
            assertThatThrownBy(() -> ws.delete(link + "/victim.txt", false)).isInstanceOf(DerrickException.class);
            assertThatThrownBy(() -> ws.move(link + "/victim.txt", "stolen.txt")).isInstanceOf(DerrickException.class);
            ws.writeString("mine.txt", "x");
            assertThatThrownBy(() -> ws.move("mine.txt", link + "/planted.txt")).isInstanceOf(DerrickException.class);
            assertThat(outside.resolve("made")).doesNotExist();
            assertThat(outside.resolve("planted.txt")).doesNotExist();
            assertThat(Files.readString(outside.resolve("victim.txt"))).isEqualTo("keep me");
            // the link itself is the workspace's: it can be described and deleted, its target stays
            assertThat(ws.stat(link).orElseThrow().type()).isEqualTo(dev.derrick.api.FileType.SYMLINK);
            ws.delete(link, true);
            assertThat(Files.readString(outside.resolve("victim.txt"))).isEqualTo("keep me");
        } finally {
            dev.derrick.local.internal.TreeDeleter.delete(outside);
        }
    }

    @Test
    void twoHundredMebibytesOfOutputEndTruncatedWithTheHeapBounded() throws Exception {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long baseline = rt.totalMemory() - rt.freeMemory();
        AtomicLong peak = new AtomicLong(baseline);
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(rt.totalMemory() - rt.freeMemory(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.setDaemon(true);
        sampler.start();
        ExecResult r;
        try {
            r = shared().exec("head -c 209715200 /dev/zero | tr '\\0' x");
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        long grewBy = peak.get() - baseline;
        System.out.printf("200 MiB print: heap grew by at most %.1f MiB (cap %d MiB per stream), took %d ms%n",
                grewBy / 1048576.0, outputLimitBytes() / 1048576, r.elapsed().toMillis());
        assertThat(r.truncated()).isTrue();
        assertThat(r.exitCode()).isZero();
        assertThat((long) r.stdout().length()).isEqualTo(outputLimitBytes());
        assertThat(grewBy).as("heap growth while 200 MiB went by").isLessThan(100L * 1024 * 1024);
    }

    @Test
    void backgroundProcessKeepingThePipesOpenDoesNotHangExec() throws Exception {
        String marker = marker();
        long start = System.nanoTime();
        ExecResult r = shared().exec(ExecRequest.of("sleep 30 & echo started").withEnv("M", marker));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(r.stdout()).isEqualTo("started\n");
        assertThat(processesWith(marker)).as("the background sleep lives on until the workspace closes").isNotEmpty();

        try (Workspace ws = provider.create(config("local-bg").build())) {
            ws.exec(ExecRequest.of("nohup sleep 30 >/dev/null 2>&1 & echo ok").withEnv("M2", marker + "x"));
            assertThat(processesWith(marker + "x")).isNotEmpty();
        }
        awaitNoProcessWith(marker + "x");
    }

    @Test
    void closeKillsRunningCommandsAndRemovesTheDirectory() throws Exception {
        String marker = marker();
        Workspace ws = provider.create(config("local-close").build());
        Path dir = Path.of(ws.info().root());
        assertThat(dir).isDirectory();
        assertThat(dir.getParent()).isEqualTo(root.toRealPath());
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(
                () -> ws.exec(ExecRequest.of("sleep 60 & sleep 60").withEnv("M", marker)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (processesWith(marker).size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        ws.close();
        assertThat(running.get(5, TimeUnit.SECONDS).succeeded()).isFalse();
        awaitNoProcessWith(marker);
        assertThat(dir).doesNotExist();
    }

    @Test
    void providerCloseKillsProcessesOfEveryWorkspace() throws Exception {
        String marker = marker();
        WorkspaceProvider other = openProvider(providerEnvironment());
        Workspace a = other.create(config("local-a").build());
        Workspace b = other.create(config("local-b").build());
        a.exec(ExecRequest.of("nohup sleep 60 >/dev/null 2>&1 &").withEnv("M", marker));
        b.exec(ExecRequest.of("nohup sleep 60 >/dev/null 2>&1 &").withEnv("M", marker));
        assertThat(processesWith(marker)).hasSize(2);
        Path rootA = Path.of(a.info().root());
        Path rootB = Path.of(b.info().root());
        other.close();
        awaitNoProcessWith(marker);
        assertThat(rootA).doesNotExist();
        assertThat(rootB).doesNotExist();
    }

    /**
     * A link to a host directory: unsandboxed, the file API and working directories refuse it by name; sandboxed,
     * the link is resolved inside the sandbox, where the host directory does not exist. Either way nothing outside
     * is read or written, and a link within the workspace works.
     */
    @Test
    void symbolicLinksLeadingOutOfTheWorkspaceAreRejected() throws IOException {
        Path outside = Files.createTempDirectory("derrick-outside");
        try {
            Files.writeString(outside.resolve("secret.txt"), "outside");
            Path link = Path.of(shared().info().root()).resolve("link-out");
            Files.createSymbolicLink(link, outside);
            Files.createSymbolicLink(Path.of(shared().info().root()).resolve("link-in"), Path.of(REPO_PATH));

            if (sandboxed()) {
                assertThatThrownBy(() -> shared().readFile("link-out/secret.txt")).isInstanceOf(DerrickException.class);
                try {
                    shared().writeString("link-out/new/file.txt", "x");
                } catch (DerrickException refused) {
                    // refusing is right too; what matters is the host
                }
                assertThat(outside.resolve("new")).doesNotExist();
                ExecResult pwd;
                try {
                    pwd = shared().exec(ExecRequest.of("cat secret.txt; pwd").withWorkingDir("link-out"));
                    assertThat(pwd.succeeded()).as(pwd.output()).isFalse();
                    assertThat(pwd.stdout()).doesNotContain("outside");
                } catch (DerrickException refused) {
                    // refused before it ran
                }
                assertThat(shared().exec("cat link-out/secret.txt").stdout()).doesNotContain("outside");
            } else {
                assertThatThrownBy(() -> shared().readFile("link-out/secret.txt"))
                        .isInstanceOf(InvalidConfigException.class).hasMessageContaining("symbolic link").hasMessageContaining("outside");
                assertThatThrownBy(() -> shared().writeString("link-out/new/file.txt", "x"))
                        .isInstanceOf(InvalidConfigException.class);
                assertThat(outside.resolve("new")).doesNotExist();
                assertThatThrownBy(() -> shared().exec(ExecRequest.of("pwd").withWorkingDir("link-out")))
                        .isInstanceOf(InvalidConfigException.class);
            }
            assertThat(shared().readString("link-in/README.md")).isEqualTo(README);
            assertThat(Files.readString(outside.resolve("secret.txt"))).isEqualTo("outside");
        } finally {
            Files.deleteIfExists(Path.of(shared().info().root()).resolve("link-out"));
            Files.deleteIfExists(Path.of(shared().info().root()).resolve("link-in"));
            dev.derrick.local.internal.TreeDeleter.delete(outside);
        }
    }

    @Test
    void leadingSlashRepositoryPathStaysUnderTheRootAndProgressIsReported() {
        List<String> tasks = new CopyOnWriteArrayList<>();
        ProgressListener progress = new ProgressListener() {
            @Override
            public void beginTask(String title, int totalWork) {
                tasks.add(title);
            }
        };
        WorkspaceConfig cfg = WorkspaceConfig.builder("local-slash")
                .repository(RepositoryConfig.of(git.url(REPO), "/abs/app").withAuth(GitAuth.fromEnv(TOKEN_ENV)))
                .setupScript("true").build();
        try (Workspace ws = provider.create(cfg, progress)) {
            assertThat(Path.of(ws.info().root()).resolve("abs/app/README.md")).hasContent(README.strip());
        }
        assertThat(tasks).contains("clone abs/app", "setup script");
    }

    @Test
    void cancelledCreateLeavesNothing() {
        Set<String> before = Set.copyOf(entries(root));
        ProgressListener cancelled = new ProgressListener() {
            @Override
            public void beginTask(String title, int totalWork) {
            }

            @Override
            public boolean isCancelled() {
                return true;
            }
        };
        assertThatThrownBy(() -> provider.create(config("local-cancel").build(), cancelled))
                .isInstanceOf(DerrickException.class).hasMessageContaining("cancelled");
        assertThat(entries(root)).allMatch(before::contains);
    }

    @Test
    void badOptionsAreClearErrors() throws IOException {
        assertThatThrownBy(() -> WorkspaceProviders.open("local", Map.of("bogus", 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bogus").hasMessageContaining("root");
        assertThatThrownBy(() -> WorkspaceProviders.open("local", Map.of("max_output_bytes", "lots")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max_output_bytes");
        assertThatThrownBy(() -> WorkspaceProviders.open("local", Map.of("default_timeout", "-5")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("default_timeout");
        Availability ok = WorkspaceProviders.probe("local", Map.of("root", root.toString()));
        assertThat(ok.available()).isTrue();
        Path file = Files.createTempFile("derrick-not-a-dir", ".txt");
        try {
            Availability no = WorkspaceProviders.probe("local", Map.of("root", file.resolve("ws").toString()));
            assertThat(no.available()).isFalse();
            assertThat(no.reason()).contains(file.toString());
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void defaultTimeoutAndOutputCapOptionsApply() {
        Map<String, Object> options = new HashMap<>(providerOptions(providerEnvironment()));
        options.put("default_timeout", "1");
        options.put("max_output_bytes", 1000);
        try (WorkspaceProvider small = WorkspaceProviders.open("local", options);
             Workspace ws = small.create(WorkspaceConfig.builder("local-small").build())) {
            ExecResult slow = ws.exec("sleep 30");
            assertThat(slow.timedOut()).isTrue();
            assertThat(slow.elapsed()).isLessThan(Duration.ofSeconds(4));
            ExecResult big = ws.exec("head -c 5000 /dev/zero | tr '\\0' y");
            assertThat(big.truncated()).isTrue();
            assertThat(big.stdout()).hasSize(1000);
        }
    }

    /** Starts {@link ShutdownHookChild}; returns it once it printed its workspace directory (into {@code dir[0]}). */
    Process child(String marker, String mode, String[] dir) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
                ShutdownHookChild.class.getName(), root.toString(), marker, mode, isolation())
                .redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            lines.add(line);
            if (line.startsWith("READY ")) {
                dir[0] = line.substring(6);
                break;
            }
        }
        assertThat(dir[0]).as("child output: %s", lines).isNotNull();
        Thread drain = new Thread(() -> {
            try {
                out.transferTo(java.io.Writer.nullWriter());
            } catch (IOException e) {
                // child gone
            }
        });
        drain.setDaemon(true);
        drain.start();
        return child;
    }

    @Test
    void shutdownHookCleansUpWhenTheProviderIsNeverClosed() throws Exception {
        String marker = marker();
        String[] dir = new String[1];
        Process child = child(marker, "exit", dir);
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Path.of(dir[0])).doesNotExist();
        awaitNoProcessWith(marker);
    }

    @Test
    void workspacesOfAKilledJvmAreReapedByTheNextProviderOnTheRoot() throws Exception {
        String marker = marker();
        String[] dir = new String[1];
        Process child = child(marker, "hold", dir);
        child.destroyForcibly();
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(Path.of(dir[0])).as("SIGKILL runs no shutdown hook").isDirectory();
        if (sandboxed()) {
            // the sandbox's holder dies with the JVM, and with it the PID namespace: nothing outlives the JVM
            awaitNoProcessWith(marker);
        } else {
            assertThat(processesWith(marker)).as("the workspace's background process outlived its JVM").isNotEmpty();
        }

        try (WorkspaceProvider next = openProvider(providerEnvironment())) {
            assertThat(Path.of(dir[0])).doesNotExist();
            awaitNoProcessWith(marker);
            assertThat(next.list()).isEmpty();
        }
        assertThat(shared().exec("true").succeeded()).as("live workspaces are not reaped").isTrue();
    }

    @Test
    void aDetachedWorkspaceOutlivesItsJvmAndIsReapedByTheNextProviderOnTheRoot() throws Exception {
        String marker = marker();
        String[] dir = new String[1];
        Process child = child(marker, "detach", dir);
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).isZero();
        assertThat(Path.of(dir[0]).resolve("evidence.txt")).as("neither provider close nor the shutdown hook removed it")
                .hasContent("kept by detach");
        awaitNoProcessWith(marker); // detach ended the workspace's processes

        try (WorkspaceProvider next = openProvider(providerEnvironment())) {
            assertThat(Path.of(dir[0])).as("reaped at the next start, its JVM being gone").doesNotExist();
            assertThat(next.list()).isEmpty();
        }
    }

    @Test
    void aDetachedWorkspaceLeavesTheProviderAndIsNotReapedWhileItsJvmLives() throws Exception {
        Path detachRoot = Files.createTempDirectory("derrick-detach-it");
        Map<String, Object> options = Map.of("root", detachRoot.toString(), "cache", "false");
        try {
            Path dir;
            String marker = marker();
            try (WorkspaceProvider provider = WorkspaceProviders.open("local", options)) {
                Workspace ws = provider.create(WorkspaceConfig.builder("detach").build());
                ws.writeString("evidence.txt", "look here");
                ws.exec(ExecRequest.of("nohup sleep 60 >/dev/null 2>&1 &").withEnv("M", marker));
                dir = Path.of(ws.info().root());

                ws.detach();
                ws.detach(); // idempotent
                awaitNoProcessWith(marker);
                assertThat(provider.list()).isEmpty();
                assertThat(provider.find(ws.id())).isEmpty();
                assertThatThrownBy(() -> ws.exec("true")).isInstanceOf(dev.derrick.api.WorkspaceNotFoundException.class)
                        .hasMessageContaining("detached").hasMessageContaining(dir.toString());
                ws.close(); // a no-op now
                assertThat(dir.resolve("evidence.txt")).hasContent("look here");
            }
            assertThat(dir.resolve("evidence.txt")).as("provider close leaves it").hasContent("look here");
            try (WorkspaceProvider again = WorkspaceProviders.open("local", options)) {
                assertThat(dir).as("its owner, this JVM, still runs").isDirectory();
                Workspace closed = again.create(WorkspaceConfig.builder("closed").build());
                closed.close();
                assertThatThrownBy(closed::detach).isInstanceOf(dev.derrick.api.WorkspaceNotFoundException.class)
                        .hasMessageContaining("closed");
            }
        } finally {
            dev.derrick.local.internal.TreeDeleter.delete(detachRoot);
        }
    }
}
