package dev.derrick.local;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.derrick.local.LocalProviderIT.awaitNoProcessWith;
import static dev.derrick.local.LocalProviderIT.marker;
import static dev.derrick.local.LocalProviderIT.processesWith;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a command of a sandboxed local workspace sees (issue 11, item 2, one test per promise) and that its processes
 * end exactly (item 4), against real bubblewrap, the real overlay/copy cache and the token-protected git server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class LocalSandboxIT {
    static final String TOKEN_ENV = "SANDBOX_IT_TOKEN";
    static final String SECRET_ENV = "SANDBOX_IT_SECRET";
    final String token = "tok-" + UUID.randomUUID();
    final String secret = "secret-" + UUID.randomUUID();
    final Path tmp = LocalProviderIT.createRoot();
    GitTestServer git;
    WorkspaceProvider provider;
    WorkspaceConfig config;

    @BeforeAll
    void start() {
        git = GitTestServer.start(token);
        git.createRepository("repo", Map.of("README.md", "hello\n", "src/Main.java", "class Main {}\n"));
        provider = open("auto");
        config = WorkspaceConfig.builder("sandbox-it")
                .repository(RepositoryConfig.of(git.url("repo"), "code/repo").withAuth(GitAuth.fromEnv(TOKEN_ENV)))
                .setupScript("echo \"Hello World\" > /tmp/hello.txt\necho at-home > \"$HOME/home.txt\"")
                .build();
    }

    @AfterAll
    void stop() {
        if (provider != null) {
            provider.close();
        }
        if (git != null) {
            git.close();
        }
        dev.derrick.local.internal.TreeDeleter.delete(tmp);
    }

    WorkspaceProvider open(String cacheMode) {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put(TOKEN_ENV, token);
        env.put(SECRET_ENV, secret);
        return WorkspaceProviders.open("local", Map.of("root", tmp.resolve("ws-" + cacheMode).toString(),
                "cache_dir", tmp.resolve("cache-" + cacheMode).toString(), "cache_mode", cacheMode,
                "isolation", "sandbox", "environment", env));
    }

    static String run(Workspace ws, String command) {
        ExecResult r = ws.exec(command);
        assertThat(r.exitCode()).as("%s\n%s", command, r.output()).isZero();
        return r.stdout();
    }

    // ---- item 1 ---------------------------------------------------------------------------------------------------

    @Test
    void infoSaysTheWorkspaceIsSandboxed() {
        try (Workspace ws = provider.create(WorkspaceConfig.builder("info").build())) {
            assertThat(ws.info().isolation()).startsWith("sandbox (network on (");
        }
    }

    @Test
    void sandboxRequestedWhereBubblewrapIsMissingFailsAtStartSayingHowToInstallIt() {
        assertThatThrownBy(() -> WorkspaceProviders.open("local", Map.of("root", tmp.resolve("nobwrap").toString(),
                "isolation", "sandbox", "bwrap", "/nonexistent/bwrap")))
                .isInstanceOf(DerrickException.class).hasMessageContaining("isolation=sandbox")
                .hasMessageContaining("apt-get install bubblewrap");
        try (WorkspaceProvider auto = WorkspaceProviders.open("local", Map.of("root", tmp.resolve("nobwrap").toString(),
                "isolation", "auto", "bwrap", "/nonexistent/bwrap", "cache", "false"));
             Workspace ws = auto.create(WorkspaceConfig.builder("auto-none").build())) {
            assertThat(ws.info().isolation()).isEqualTo("none");
        }
    }

    // ---- item 2: PID namespace --------------------------------------------------------------------------------------

    @Test
    void psShowsOnlyTheWorkspacesOwnProcessesAndTheProviderCannotBeSeenOrSignalled() throws InterruptedException {
        String m = marker();
        try (Workspace a = provider.create(config); Workspace b = provider.create(config)) {
            a.exec(ExecRequest.of("nohup sleep 300 >/dev/null 2>&1 &").withEnv("M", m));
            String psB = run(b, "ps -eo pid=,args=");
            assertThat(psB).doesNotContain("java").doesNotContain("sleep 300");
            assertThat(run(b, "grep -l " + m + " /proc/[0-9]*/environ 2>/dev/null | wc -l").strip()).isEqualTo("0");
            String psA = run(a, "ps -eo args=");
            assertThat(psA).contains("sleep 300").doesNotContain("java");
            // every process a command sees: the holder (bwrap, sleep infinity), this command, its own children
            for (String line : psA.strip().split("\n")) {
                assertThat(line.strip()).matches("((/usr/bin/)?bwrap --args 0 -- /usr/bin/sleep infinity|/usr/bin/sleep infinity|sleep 300|(/bin/)?bash -c .*|ps -eo args=)");
            }
            long jvm = ProcessHandle.current().pid();
            assertThat(b.exec("kill -0 " + jvm).exitCode()).as("the provider's pid does not exist in the sandbox").isNotZero();
            assertThat(b.exec("cat /proc/" + jvm + "/environ").exitCode()).isNotZero();
            assertThat(run(b, "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'")).doesNotContain(secret).doesNotContain(token);
            assertThat(run(b, "cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '")).doesNotContain(tmp.toString());
            assertThat(ProcessHandle.current().isAlive()).isTrue();
        }
        awaitNoProcessWith(m);
    }

    // ---- item 2: mount namespace ------------------------------------------------------------------------------------

    @Test
    void systemDirectoriesAreReadOnlyAndNothingOfTheProviderOrOtherWorkspacesIsMounted() throws IOException {
        Path hostMarker = Files.createTempFile("derrick-host-tmp", ".txt");
        try (Workspace a = provider.create(config); Workspace b = provider.create(config)) {
            a.writeString("only-in-a.txt", "a");
            String script = String.join("\n",
                    "for d in /usr /etc /bin; do touch $d/derrick-probe 2>/dev/null && echo WROTE $d; done",
                    "for p in /root /home/" + "root /sys /run '" + tmp + "' '" + Path.of(a.info().root()) + "' '"
                            + System.getProperty("user.home") + "/.cache' '" + hostMarker + "'; do",
                    "  test -e \"$p\" && echo SEES $p", "done",
                    "find / -xdev -name only-in-a.txt 2>/dev/null | head -1",
                    "echo workspace-ok > mine.txt && cat mine.txt");
            assertThat(run(b, script)).isEqualTo("workspace-ok\n");
            assertThat(run(b, "ls /home")).isEqualTo("derrick\n");
            assertThat(run(b, "ls /")).contains("code", "tmp", "usr", "etc", "proc", "dev");
        } finally {
            Files.deleteIfExists(hostMarker);
        }
    }

    // ---- item 2: private /tmp and HOME -------------------------------------------------------------------------------

    @Test
    void tmpAndHomeArePrivatePartOfTheCleanStateAndUndoneByReset() {
        Path hostHello = Path.of("/tmp/hello.txt");
        boolean hostHad = Files.exists(hostHello);
        String hostBefore = hostHad ? read(hostHello) : null;
        try (Workspace a = provider.create(config); Workspace b = provider.create(config)) {
            assertThat(run(a, "cat /tmp/hello.txt")).isEqualTo("Hello World\n");
            assertThat(run(a, "echo $HOME; cat ~/home.txt; echo $TMPDIR")).isEqualTo("/home/derrick\nat-home\n/tmp\n");
            run(a, "echo changed-by-a > /tmp/hello.txt; echo x > /tmp/only-a");
            assertThat(run(b, "cat /tmp/hello.txt; test -e /tmp/only-a && echo LEAK || true")).isEqualTo("Hello World\n");
            a.reset();
            assertThat(run(a, "cat /tmp/hello.txt; test -e /tmp/only-a && echo LEFT || true")).isEqualTo("Hello World\n");
        }
        assertThat(Files.exists(hostHello)).as("the host's /tmp/hello.txt").isEqualTo(hostHad);
        if (hostHad) {
            assertThat(read(hostHello)).isEqualTo(hostBefore);
        }
    }

    // ---- item 2: absolute paths ------------------------------------------------------------------------------------

    @Test
    void absolutePathsMeanTheSameToCommandsAndToTheFileApi() {
        try (Workspace ws = provider.create(config)) {
            run(ws, "echo from-command > /tmp/x");
            assertThat(ws.readString("/tmp/x")).isEqualTo("from-command\n");
            ws.writeString("/code/repo/new.txt", "from-api");
            assertThat(run(ws, "cat /code/repo/new.txt; cat code/repo/new.txt")).isEqualTo("from-apifrom-api");
            assertThat(run(ws, "pwd")).isEqualTo("/\n");
            assertThat(ws.exec(ExecRequest.of("pwd").withWorkingDir("/code/repo")).stdout()).isEqualTo("/code/repo\n");
            assertThat(ws.readString("/code/repo/README.md")).isEqualTo("hello\n");
            assertThat(ws.listFiles("/")).extracting(FileEntry::name).contains("code", "tmp", "home");
            // the system directories are the host's, read-only, for the file API as for commands
            assertThat(ws.readString("/etc/hostname")).isEqualTo(read(Path.of("/etc/hostname")));
            assertThatThrownBy(() -> ws.writeString("/usr/derrick-probe", "x")).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("Read-only");
        }
    }

    // ---- item 2: the cache snapshot ------------------------------------------------------------------------------------

    @Test
    void theCacheSnapshotCanNeitherBeSeenNorWrittenFromInsideOverlay() {
        assertThat(((LocalWorkspaceProvider) provider).cache().usesOverlay()).as("root on Linux: overlay mode").isTrue();
        snapshotIsUntouchable(provider);
    }

    @Test
    void theCacheSnapshotCanNeitherBeSeenNorWrittenFromInsideCopy() {
        try (WorkspaceProvider copy = open("copy")) {
            snapshotIsUntouchable(copy);
        }
    }

    private void snapshotIsUntouchable(WorkspaceProvider p) {
        try (Workspace ws = p.create(config)) {
            String mounts = run(ws, "cat /proc/self/mounts");
            int layers = 0;
            for (String option : mounts.split("[ ,\n]")) {
                if (option.startsWith("lowerdir=") || option.startsWith("upperdir=") || option.startsWith("workdir=")) {
                    layers++;
                    String path = option.substring(option.indexOf('=') + 1);
                    assertThat(ws.exec("test -e '" + path + "' || test -e '" + path + "/code'").exitCode())
                            .as("%s is not reachable inside", path).isNotZero();
                    assertThat(ws.exec("mkdir -p '" + path + "/code' && echo poison > '" + path + "/code/x'").exitCode())
                            .as("%s cannot be made inside", path).isZero(); // it lands in the workspace, not in the layer
                }
            }
            assertThat(layers).isEqualTo(((LocalWorkspaceProvider) p).cache().usesOverlay() ? 3 : 0);
            // nothing is linked between the workspace and the snapshot: no hard-linked git object
            assertThat(run(ws, "find /code/repo/.git/objects -type f -links +1 | wc -l").strip()).isEqualTo("0");
            run(ws, "echo poison > /code/repo/README.md; chmod -R u+w /code/repo/.git/objects;"
                    + " for f in $(find /code/repo/.git/objects -type f); do echo poison > $f; done");
            try (Workspace next = p.create(config)) {
                assertThat(next.readString("code/repo/README.md")).isEqualTo("hello\n");
                assertThat(run(next, "git -C /code/repo fsck 2>&1 && echo FSCK-OK")).contains("FSCK-OK");
            }
            ws.reset();
            assertThat(ws.readString("code/repo/README.md")).isEqualTo("hello\n");
        }
    }

    @Test
    void ownerRecordsAndCacheLeasesCanNeitherBeSeenNorWrittenFromInside() throws IOException {
        String me = dev.derrick.core.process.OwnerId.current().text();
        try (Workspace ws = provider.create(config)) {
            Path root = tmp.resolve("ws-auto");
            Path cache = tmp.resolve("cache-auto");
            List<Path> records = new java.util.ArrayList<>();
            records.add(root.resolve(".derrick-owners").resolve(ws.id()));
            try (var files = Files.walk(cache)) {
                files.filter(f -> f.getFileName().toString().equals("owner.pid")
                        || f.getParent().getParent() != null && f.getParent().getParent().getFileName().toString().equals("leases"))
                        .filter(Files::isRegularFile).forEach(records::add);
            }
            assertThat(records).as("the owner record, the instance's owner, the lease").hasSizeGreaterThanOrEqualTo(3);
            for (Path record : records) {
                assertThat(record).as("%s names this JVM", record).hasContent(me);
                assertThat(ws.exec("test -e '" + record + "' || test -e '" + record.getParent() + "'").exitCode())
                        .as("%s is not reachable inside", record).isNotZero();
                ws.exec("mkdir -p '" + record.getParent() + "' && echo forged > '" + record + "'");
                assertThat(record).as("%s is untouched", record).hasContent(me);
            }
        }
    }

    // ---- item 2: no root privileges -----------------------------------------------------------------------------------

    @Test
    void commandsAndTheFileApiCannotReadWhatOnlyRootMayRead() throws IOException {
        Path rootOnly = Path.of("/etc/derrick-it-root-only-" + UUID.randomUUID());
        Files.writeString(rootOnly, secret);
        Files.setPosixFilePermissions(rootOnly, PosixFilePermissions.fromString("rw-------"));
        try (Workspace ws = provider.create(config)) {
            assertThat(run(ws, "id -u").strip()).isNotEqualTo("0");
            assertThat(run(ws, "grep CapEff /proc/self/status")).contains("0000000000000000");
            assertThat(ws.exec("cat /etc/shadow").exitCode()).isNotZero();
            assertThat(ws.exec("cat " + rootOnly).exitCode()).isNotZero();
            assertThat(ws.exec("su -c id root </dev/null").stdout()).doesNotContain("uid=0");
            assertThatThrownBy(() -> ws.readFile("/etc/shadow")).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("Permission denied");
            assertThatThrownBy(() -> ws.readFile(rootOnly.toString())).isInstanceOf(InvalidConfigException.class);
            // a link planted in the workspace does not help the file API either
            run(ws, "ln -s " + rootOnly + " planted; ln -s /etc planted-dir");
            assertThatThrownBy(() -> ws.readFile("planted")).isInstanceOf(InvalidConfigException.class);
            assertThatThrownBy(() -> ws.readFile("planted-dir/shadow")).isInstanceOf(InvalidConfigException.class);
            // files the workspace makes, with commands or the file API, belong to the sandbox user
            ws.writeString("api.txt", "x");
            assertThat(run(ws, "stat -c %u api.txt code/repo/README.md | sort -u")).isEqualTo(run(ws, "id -u"));
        } finally {
            Files.deleteIfExists(rootOnly);
        }
    }

    // ---- item 4: processes end with their workspace, exactly ---------------------------------------------------------

    @Test
    void aTimeoutEndsEverythingTheCommandStartedDoubleForkedAndSetsidIncluded() throws InterruptedException {
        String m = marker();
        try (Workspace ws = provider.create(WorkspaceConfig.builder("timeouts").build())) {
            ExecResult r = ws.exec(ExecRequest.of("setsid sleep 301 >/dev/null 2>&1 & (cd / && sleep 302 >/dev/null 2>&1 &);"
                    + " (setsid sh -c 'sleep 303' >/dev/null 2>&1 &); sleep 60").withEnv("M", m).withTimeout(Duration.ofSeconds(2)));
            assertThat(r.timedOut()).isTrue();
            awaitNoProcessWith(m);
            assertThat(run(ws, "ps -eo args= | grep -c '^sleep 30[123]' || true").strip()).isEqualTo("0");
        }
    }

    @Test
    void backgroundProcessesStartedOnPurposeKeepRunningUntilTheWorkspaceCloses() throws InterruptedException {
        String m = marker();
        Workspace ws = provider.create(WorkspaceConfig.builder("background").build());
        try {
            ws.exec(ExecRequest.of("nohup sleep 300 >/dev/null 2>&1 & setsid nohup sleep 301 >/dev/null 2>&1 &"
                    + " (cd / && setsid sleep 302 >/dev/null 2>&1 &)").withEnv("M", m));
            assertThat(run(ws, "ps -eo args=")).contains("sleep 300", "sleep 301", "sleep 302");
            assertThat(processesWith(m)).as("still running after their command returned").isNotEmpty();
        } finally {
            ws.close();
        }
        awaitNoProcessWith(m);
    }

    // ---- issue 12 item 4 (local): any size ---------------------------------------------------------------------------

    @Test
    void commandsEnvironmentValuesAndSetupScriptsOfMegabytesRun() {
        char[] mb = new char[1024 * 1024];
        Arrays.fill(mb, 'x');
        String big = new String(mb);
        WorkspaceConfig huge = WorkspaceConfig.builder("huge").setupScript("cat > big-setup.txt <<'EOF'\n" + big + "\nEOF")
                .env(Map.of("HUGE_CONFIG", big.substring(0, 300_000))).build();
        try (Workspace ws = provider.create(huge)) {
            assertThat(run(ws, "wc -c < big-setup.txt").strip()).isEqualTo(Integer.toString(big.length() + 1));
            assertThat(run(ws, "cat <<'EOF' | wc -c\n" + big + "\nEOF").strip()).isEqualTo(Integer.toString(big.length() + 1));
            assertThat(ws.exec(ExecRequest.of("echo ${#HUGE_REQUEST} ${#HUGE_CONFIG}").withEnv("HUGE_REQUEST", big))
                    .stdout()).isEqualTo(big.length() + " 300000\n");
            ws.writeString("big.bin", big);
            assertThat(ws.readFile("big.bin")).hasSize(big.length());
        }
    }

    // ---- working directories -------------------------------------------------------------------------------------------

    @Test
    void missingWorkingDirectoriesAreClearErrorsAndLinksAreFollowedInsideTheSandbox() {
        try (Workspace ws = provider.create(config)) {
            assertThatThrownBy(() -> ws.exec(ExecRequest.of("true").withWorkingDir("no/such/dir")))
                    .isInstanceOf(InvalidConfigException.class).hasMessageContaining("no/such/dir");
            run(ws, "ln -s /code/repo repo-link; ln -s " + tmp + " host-link");
            assertThat(ws.exec(ExecRequest.of("cat README.md").withWorkingDir("repo-link")).stdout()).isEqualTo("hello\n");
            assertThatThrownBy(() -> ws.exec(ExecRequest.of("pwd").withWorkingDir("host-link")))
                    .isInstanceOf(InvalidConfigException.class).hasMessageContaining("host-link");
            assertThatThrownBy(() -> ws.readFile("host-link/x")).isInstanceOf(WorkspaceFileNotFoundException.class);
            // the link dangles inside the sandbox: no directory is made for it anywhere, nothing reaches the host
            assertThatThrownBy(() -> ws.writeString("host-link/inside.txt", "x")).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("host-link/inside.txt");
            run(ws, "mkdir -p " + tmp);
            ws.writeString("host-link/inside.txt", "stays in the workspace");
            assertThat(tmp.resolve("inside.txt")).doesNotExist();
            assertThat(run(ws, "cat " + tmp + "/inside.txt")).isEqualTo("stays in the workspace");
        }
    }

    @Test
    void aRepositoryAtASystemDirectoryIsRefused() {
        WorkspaceConfig bad = WorkspaceConfig.builder("bad-path")
                .repository(RepositoryConfig.of(git.url("repo"), "usr/repo").withAuth(GitAuth.fromEnv(TOKEN_ENV))).build();
        assertThatThrownBy(() -> provider.create(bad)).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("usr/repo").hasMessageContaining("system directory");
    }

    /**
     * bash refuses a script it cannot parse before it reads anything, so the shell may be gone before the provider
     * moves it into its cgroup: that is the command's result (exit 2 and bash's message), never a failure to start
     * (HttpFuzzIT once got a 500 "cannot start a command in the sandbox: No such process" for {@code "cmd":"u0000u001ft\""}).
     */
    @Test
    void aScriptTheShellCannotParseIsAResultNotAFailureToStart() {
        try (Workspace ws = provider.create(config)) {
            for (int i = 0; i < 30; i++) {
                for (String script : List.of("u0000u001ft\"", "echo 'unterminated", "if then fi )")) {
                    ExecResult r = ws.exec(script);
                    assertThat(r.exitCode()).as("%s (round %d): %s", script, i, r.output()).isEqualTo(2);
                    assertThat(r.stderr()).contains("unexpected");
                }
            }
            assertThat(run(ws, "echo still fine")).isEqualTo("still fine\n");
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
