package dev.derrick.docker;

import com.github.dockerjava.api.command.InspectContainerResponse;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.StreamKind;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceNotFoundException;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static dev.derrick.docker.DockerTestSupport.DEBIAN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Docker-specific behaviour against the real engine: shells, exec, files, repositories, labels, teardown. */
@Timeout(120)
class DockerWorkspaceIT {
    static final String TOKEN = "tok-" + java.util.UUID.randomUUID();
    static GitTestServer git;
    static String firstCommit;
    static DockerWorkspaceProvider provider;
    static DockerEngine raw;
    static Workspace busybox;
    static Workspace debian;

    @BeforeAll
    static void setUp() {
        DockerTestSupport.requireEngine();
        git = GitTestServer.start(TOKEN);
        firstCommit = git.createRepository("app", Map.of("README.md", "hello\n", "bin/run.sh", "#!/bin/sh\necho run\n"));
        provider = DockerWorkspaceProvider.open(Map.of("max_output_bytes", 64 * 1024),
                DockerTestSupport.providerEnv("GIT_TOKEN", TOKEN));
        raw = DockerTestSupport.rawEngine();
        busybox = provider.create(WorkspaceConfig.builder("bb").image(BUSYBOX).env("CONFIG_VAR", "from-config")
                .env("SHARED", "config").build());
        debian = provider.create(WorkspaceConfig.builder("deb").image(DEBIAN)
                .repository(RepositoryConfig.of(git.url("app"), "/code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("cd /code/app && git log -1 --format=%H > /tmp/setup-saw && echo \"$CI\" > /tmp/ci")
                .env("CI", "true").build());
    }

    @AfterAll
    static void tearDown() {
        if (provider != null) {
            provider.close();
        }
        if (raw != null) {
            raw.close();
        }
        if (git != null) {
            git.close();
        }
    }

    /** Diff in a container (git from the image): git apply on a fresh clone at the clean commit gives the same tree. */
    @Test
    void diffInAContainerAppliesToAFreshClone() throws Exception {
        Workspace ws = provider.create(WorkspaceConfig.builder("deb-diff").image(DEBIAN)
                .repository(RepositoryConfig.of(git.url("app"), "/code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .build());
        try {
            ws.editFile("/code/app/README.md", "hello\n", "hello, container\n", false);
            ws.writeString("/code/app/docs/new.md", "new\n");
            ws.writeFile("/code/app/blob.bin", new byte[] {0, 1, 2, 3, (byte) 255});
            ws.delete("/code/app/bin/run.sh", false);
            ws.writeString("/etc/derrick-outside.conf", "changed outside\n");
            dev.derrick.api.WorkspaceDiff diff = ws.diff();
            dev.derrick.api.RepositoryDiff repo = diff.repositories().get(0);
            assertThat(repo.base()).isEqualTo(firstCommit);
            assertThat(repo.files()).extracting(dev.derrick.api.ChangedFile::path)
                    .containsExactly("README.md", "bin/run.sh", "blob.bin", "docs/new.md");
            assertThat(diff.outsideTracked()).isTrue();
            assertThat(diff.outsideRepositories()).extracting(dev.derrick.api.ChangedFile::path)
                    .containsExactly("etc/derrick-outside.conf"); // root is "/": paths relative to it
            java.nio.file.Path clone = java.nio.file.Files.createTempDirectory("derrick-docker-apply-");
            try {
                sh(clone.getParent(), "git", "clone", "-q", git.repositoryDir("app").toString(), clone.toString());
                sh(clone, "git", "checkout", "-q", firstCommit);
                java.nio.file.Path patch = java.nio.file.Files.createTempFile("derrick-docker-", ".patch");
                java.nio.file.Files.writeString(patch, repo.patch());
                sh(clone, "git", "apply", patch.toString());
                java.nio.file.Files.delete(patch);
                assertThat(java.nio.file.Files.readString(clone.resolve("README.md"))).isEqualTo("hello, container\n");
                assertThat(java.nio.file.Files.readAllBytes(clone.resolve("blob.bin"))).containsExactly(0, 1, 2, 3, 255);
                assertThat(java.nio.file.Files.readString(clone.resolve("docs/new.md"))).isEqualTo("new\n");
                assertThat(clone.resolve("bin/run.sh")).doesNotExist();
            } finally {
                try (var walk = java.nio.file.Files.walk(clone)) {
                    walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            ws.reset();
            assertThat(ws.diff().repositories().get(0).files()).isEmpty();
        } finally {
            ws.close();
        }
    }

    private static void sh(java.nio.file.Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    }

    @Test
    void aSilentBackgroundProcessKeepsRunningUntilItsTimeout() {
        dev.derrick.api.WorkspaceProcess p = busybox.start(ExecRequest.of("sleep 300").withTimeout(Duration.ofSeconds(2)));
        assertThat(p.waitFor(Duration.ofSeconds(1))).as("ended early: %s", p.info()).isEmpty();
        ExecResult r = p.waitFor(Duration.ofSeconds(30)).orElseThrow();
        assertThat(r.timedOut()).as("%s", r).isTrue();
    }

    @Test
    void isFoundByNameAndListsItsWorkspaces() {
        assertThat(WorkspaceProviders.available()).contains("docker");
        assertThat(provider.list()).extracting(Workspace::id).contains(busybox.id(), debian.id());
        assertThat(provider.get(debian.id())).isSameAs(debian);
        assertThat(debian.info().repositories()).singleElement().satisfies(r -> {
            assertThat(r.commit()).isEqualTo(firstCommit);
            assertThat(r.path()).isEqualTo("code/app");
            assertThat(r.url()).doesNotContain(TOKEN);
        });
    }

    @Test
    void usesBashWhenTheImageHasItAndShOtherwise() {
        assertThat(debian.exec("echo $BASH_VERSION").stdout()).isNotBlank();
        assertThat(busybox.exec("echo \"[$BASH_VERSION]\"").stdout()).isEqualTo("[]\n");
        assertThat(busybox.exec("cat <<EOF\nheredoc $CONFIG_VAR\nEOF\n").stdout()).isEqualTo("heredoc from-config\n");
    }

    @Test
    void cloneAndSetupHappenedWithoutGitInTheContainerForClone() {
        assertThat(debian.readString("/tmp/setup-saw").strip()).isEqualTo(firstCommit);
        assertThat(debian.readString("/tmp/ci")).isEqualTo("true\n");
        ExecResult status = debian.exec(ExecRequest.of("git status --porcelain && git rev-parse --abbrev-ref HEAD")
                .withWorkingDir("code/app"));
        assertThat(status.exitCode()).isZero();
        assertThat(status.stdout()).isEqualTo("main\n");
        assertThat(debian.exec(ExecRequest.of("sh bin/run.sh").withWorkingDir("code/app")).stdout()).isEqualTo("run\n");
        assertThat(debian.exec("git -C /code/app remote get-url origin").stdout().strip()).isEqualTo(git.url("app"));
    }

    @Test
    void execKeepsExitCodeStreamsAndOrder() {
        ExecResult r = busybox.exec("echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; exit 3");
        assertThat(r.exitCode()).isEqualTo(3);
        assertThat(r.succeeded()).isFalse();
        assertThat(r.stdout()).isEqualTo("out1\nout2\n");
        assertThat(r.stderr()).isEqualTo("err1\n");
        assertThat(r.output()).isEqualTo("out1\nerr1\nout2\n");
        assertThat(r.timedOut()).isFalse();
    }

    @Test
    void streamsOutputToTheListener() {
        List<String> chunks = new CopyOnWriteArrayList<>();
        ExecResult r = busybox.exec(ExecRequest.of("echo a; echo b >&2"), (kind, chunk) -> chunks.add(kind + ":" + chunk));
        assertThat(r.succeeded()).isTrue();
        assertThat(String.join("", chunks)).contains("STDOUT:a\n").contains("STDERR:b\n");
        assertThat(StreamKind.values()).hasSize(2);
    }

    @Test
    void layersConfigAndRequestEnvButNotTheProviderEnv() {
        ExecResult r = busybox.exec(ExecRequest.of("echo $CONFIG_VAR $SHARED $EXTRA [$GIT_TOKEN]")
                .withEnv(Map.of("SHARED", "request", "EXTRA", "x")));
        assertThat(r.stdout()).isEqualTo("from-config request x []\n");
    }

    @Test
    void workingDirIsTheRootOrTheGivenDirectory() {
        assertThat(busybox.exec("pwd").stdout()).isEqualTo("/\n");
        busybox.exec("mkdir -p /srv/wd");
        assertThat(busybox.exec(ExecRequest.of("pwd").withWorkingDir("srv/wd")).stdout()).isEqualTo("/srv/wd\n");
        assertThat(busybox.exec(ExecRequest.of("pwd").withWorkingDir("/srv/wd")).stdout()).isEqualTo("/srv/wd\n");
        assertThatThrownBy(() -> busybox.exec(ExecRequest.of("pwd").withWorkingDir("no/such/dir")))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("no/such/dir");
    }

    @Test
    void timeoutKillsTheWholeProcessGroupInsideTheContainer() {
        ExecResult r = busybox.exec(ExecRequest.of("sleep 300 & echo started; sleep 301; echo never")
                .withTimeout(Duration.ofMillis(1500)));
        assertThat(r.timedOut()).isTrue();
        assertThat(r.succeeded()).isFalse();
        assertThat(r.stdout()).isEqualTo("started\n");
        assertThat(r.elapsed()).isLessThan(Duration.ofSeconds(15));
        String ps = busybox.exec("ps -o args | grep -c '^sleep 30[01]' || true").stdout().strip();
        assertThat(ps).isEqualTo("0");
    }

    @Test
    void outputPastTheCapIsTruncatedAndTheCommandStillEnds() {
        ExecResult r = busybox.exec("head -c 300000 /dev/zero | tr '\\0' x; echo done >&2");
        assertThat(r.exitCode()).isZero();
        assertThat(r.truncated()).isTrue();
        assertThat(r.stdout()).hasSize(64 * 1024);
        assertThat(r.stderr()).isEqualTo("done\n");
    }

    @Test
    void filesGoThroughTheArchiveApi() {
        busybox.writeString("notes/deep/a.txt", "hello ünïcode");
        assertThat(busybox.readString("notes/deep/a.txt")).isEqualTo("hello ünïcode");
        assertThat(busybox.readString("/notes/deep/a.txt")).isEqualTo("hello ünïcode");
        assertThat(busybox.exec("cat /notes/deep/a.txt").stdout()).isEqualTo("hello ünïcode");
        busybox.writeString("notes/deep/a.txt", "replaced");
        assertThat(busybox.readString("notes/deep/a.txt")).isEqualTo("replaced");
        byte[] binary = new byte[70_000];
        for (int i = 0; i < binary.length; i++) {
            binary[i] = (byte) i;
        }
        busybox.writeFile("/tmp/bin.dat", binary);
        assertThat(busybox.readFile("tmp/bin.dat")).isEqualTo(binary);
        assertThat(busybox.exec("stat -c %a /tmp").stdout()).isEqualTo("1777\n");

        busybox.exec("mkdir -p /notes/deep/sub && ln -s a.txt /notes/deep/link && touch '/notes/deep/.hidden file'");
        List<FileEntry> entries = busybox.listFiles("notes/deep");
        assertThat(entries).extracting(FileEntry::name).containsExactly(".hidden file", "a.txt", "link", "sub");
        assertThat(entries.get(1)).isEqualTo(new FileEntry("a.txt", "notes/deep/a.txt", false, 8));
        assertThat(entries.get(3).directory()).isTrue();
        assertThat(busybox.readString("notes/deep/link")).isEqualTo("replaced");

        assertThatThrownBy(() -> busybox.readFile("notes/missing.txt")).hasMessageContaining("notes/missing.txt")
                .hasMessageContaining("no such file");
        assertThatThrownBy(() -> busybox.readFile("notes/deep")).hasMessageContaining("directory");
        assertThatThrownBy(() -> busybox.writeString("notes/deep", "x")).hasMessageContaining("notes/deep");
        assertThatThrownBy(() -> busybox.listFiles("notes/deep/a.txt")).hasMessageContaining("notes/deep/a.txt");
        assertThatThrownBy(() -> busybox.readFile("../../etc/passwd")).isInstanceOf(InvalidConfigException.class);
    }

    @Test
    void containersAreLabelledAtBirthAndNetworkIsTheEnginesBridgeOrNone() {
        InspectContainerResponse inspect = raw.client().inspectContainerCmd("derrick-" + busybox.id()).exec();
        Map<String, String> labels = inspect.getConfig().getLabels();
        assertThat(labels).containsEntry("derrick.managed", "true")
                .containsEntry("derrick.session", provider.sessionId())
                .containsEntry("derrick.workspace", busybox.id())
                .containsEntry("derrick.config", "bb")
                .containsKeys("derrick.version", "derrick.owner.pid", "derrick.owner.host", "derrick.owner.boot");
        // network "on" (the default) without a network_mode option: bridge, or none on an engine without one
        boolean bridge = raw.client().listNetworksCmd().exec().stream().anyMatch(n -> n.getName().equals("bridge"));
        assertThat(inspect.getHostConfig().getNetworkMode()).isEqualTo(bridge ? "bridge" : "none");
        assertThat(provider.describeNetwork(WorkspaceConfig.builder("bb").build())).isEqualTo("network mode " + (bridge ? "bridge" : "none")
                + (bridge ? "" : " (the engine has no 'bridge' network (dockerd --bridge=none?): phases with network"
                + " \"on\" run with network mode none; set option network_mode to a network of the engine)"));
    }

    @Test
    void closeRemovesTheContainerAndIsIdempotent() {
        Workspace ws = provider.create(WorkspaceConfig.builder("short").image(BUSYBOX).build());
        String name = "derrick-" + ws.id();
        assertThat(raw.client().inspectContainerCmd(name).exec().getState().getRunning()).isTrue();
        ws.close();
        ws.close();
        assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", ws.id())).isEmpty();
        assertThat(provider.find(ws.id())).isEmpty();
        assertThatThrownBy(() -> ws.exec("true")).isInstanceOf(WorkspaceNotFoundException.class);
    }

    @Test
    void closingUnderARunningCommandEndsItWithAClearError() throws Exception {
        Workspace ws = provider.create(WorkspaceConfig.builder("closing").image(BUSYBOX).build());
        var running = java.util.concurrent.CompletableFuture.supplyAsync(() -> ws.exec("echo started; sleep 120"));
        Thread.sleep(1500);
        ws.close();
        assertThat(running).failsWithin(Duration.ofSeconds(30))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(WorkspaceNotFoundException.class).withMessageContaining("closed");
        assertThat(DockerTestSupport.containersWithLabel(raw.client(), "derrick.workspace", ws.id())).isEmpty();
    }

    @Test
    void limitsAndExtraLabelsAreOptions() {
        try (DockerWorkspaceProvider limited = DockerWorkspaceProvider.open(Map.of("cpus", "0.5", "memory", "64m",
                "labels", Map.of("team", "infra"), "root", "/workspace"));
             Workspace ws = limited.create(WorkspaceConfig.builder("limited").image(BUSYBOX).build())) {
            InspectContainerResponse inspect = raw.client().inspectContainerCmd("derrick-" + ws.id()).exec();
            assertThat(inspect.getHostConfig().getNanoCPUs()).isEqualTo(500_000_000L);
            assertThat(inspect.getHostConfig().getMemory()).isEqualTo(64L << 20);
            assertThat(inspect.getConfig().getLabels()).containsEntry("team", "infra");
            assertThat(ws.exec("pwd").stdout()).isEqualTo("/workspace\n");
            ws.writeString("f.txt", "in root");
            assertThat(ws.exec("cat /workspace/f.txt").stdout()).isEqualTo("in root");
            assertThat(ws.listFiles("")).extracting(FileEntry::path).containsExactly("f.txt");
            assertThat(new String(ws.readFile("/workspace/f.txt"), StandardCharsets.UTF_8)).isEqualTo("in root");
        }
    }
}
