package dev.derrick.docker.internal;

import com.github.dockerjava.api.model.Image;
import dev.derrick.api.GitAuth;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The docker provider's cache against the real engine and the token-protected git server. */
@Timeout(300)
class DockerCacheIT {
    static final String DEBIAN = env("DERRICK_DEBIAN_IMAGE", "derrick-test/debian:bookworm-git");
    static final String TOKEN = "tok-" + UUID.randomUUID();
    static GitTestServer server;

    @TempDir
    static Path cacheDir;

    DockerProvider provider;

    @BeforeAll
    static void start() {
        Availability availability = WorkspaceProviders.probe("docker", Map.of());
        if (!availability.available()) {
            if (Boolean.parseBoolean(System.getenv("DERRICK_REQUIRE_DOCKER"))) {
                Assertions.fail("DERRICK_REQUIRE_DOCKER=true but " + availability.reason());
            }
            Assumptions.abort("no Docker engine: " + availability.reason());
        }
        server = GitTestServer.start(TOKEN);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void closeProvider() {
        if (provider != null) {
            // Leave no cache images behind: prune every entry of this test's cache directory (removes the images).
            provider.list().forEach(Workspace::close);
            provider.cache().store().prune(new dev.derrick.core.cache.EvictionPolicy(java.time.Duration.ZERO, 0));
            provider.close();
        }
    }

    DockerProvider provider() {
        Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("GIT_TOKEN", TOKEN);
        provider = DockerProvider.open(Map.of("cache_dir", cacheDir.toString()), env);
        return provider;
    }

    String newRepo() {
        String name = "r" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(name, Map.of("README.md", "hello\n", "pom.xml", "<project/>\n"));
        return name;
    }

    static WorkspaceConfig.Builder config(String repo) {
        return WorkspaceConfig.builder("cache-it-" + repo).image(DEBIAN)
                .repository(RepositoryConfig.of(server.url(repo), "/code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                // A value no second run could reproduce: proves the setup ran once.
                .setupScript("cat /proc/sys/kernel/random/uuid > /setup-run-id && mkdir -p /deps && echo lib > /deps/lib.txt");
    }

    static final class Tasks implements ProgressListener {
        final List<String> titles = new CopyOnWriteArrayList<>();

        @Override
        public void beginTask(String title, int totalWork) {
            titles.add(title);
        }
    }

    @Test
    void secondCreateStartsFromTheCommittedImageWithoutSetupOrClone() {
        DockerProvider p = provider();
        String repo = newRepo();
        WorkspaceConfig config = config(repo).build();
        Tasks firstTasks = new Tasks();
        Workspace first = p.create(config, firstTasks);
        server.clearRequestLog();
        Tasks secondTasks = new Tasks();
        Workspace second = p.create(config, secondTasks);

        assertThat(firstTasks.titles).contains("setup script");
        assertThat(secondTasks.titles).doesNotContain("setup script").anyMatch(t -> t.startsWith("container from cache image"));
        assertThat(second.readString("/setup-run-id")).isEqualTo(first.readString("/setup-run-id"));
        assertThat(second.readString("/code/app/README.md")).isEqualTo("hello\n");
        assertThat(second.readString("/deps/lib.txt")).isEqualTo("lib\n");
        assertThat(server.requestLog()).noneMatch(GitTestServer.Request::isFullClone);
        String key = DockerCache.key(config, DEBIAN).hex();
        CacheEntry entry = p.cache().store().find(DockerCache.key(config, DEBIAN)).orElseThrow();
        assertThat(entry.details().get("image")).startsWith("derrick-cache/cache-it-" + repo + ":" + entry.key().substring(0, 12));
        assertThat(second.info().cacheEntry()).isEqualTo(entry.id());
        assertThat(p.cache().store().list()).filteredOn(s -> s.entry().key().equals(key)).singleElement()
                .satisfies(s -> assertThat(s.leases()).isEqualTo(2));
    }

    @Test
    void newCommitsReachNewAndLiveWorkspacesThroughNegotiatedFetchesAndBundles() {
        DockerProvider p = provider();
        String repo = newRepo();
        WorkspaceConfig config = config(repo).updateScript("echo updated >> /update-ran").build();
        Workspace live = p.create(config);
        String built = live.info().repositories().get(0).commit();
        String pushed = server.commit(repo, Map.of("NEW.md", "new\n"), "upstream");
        server.clearRequestLog();

        Workspace fromOld = p.create(config);
        assertThat(fromOld.readString("/code/app/NEW.md")).isEqualTo("new\n");
        assertThat(fromOld.readString("/update-ran")).isEqualTo("updated\n");
        assertThat(fromOld.info().repositories().get(0).commit()).isEqualTo(pushed);
        assertThat(fromOld.exec("git -C /code/app rev-parse HEAD").stdout().strip()).isEqualTo(pushed);

        List<RepositoryFetch> fetched = live.fetch();
        assertThat(fetched).singleElement().isEqualTo(new RepositoryFetch("code/app", built, pushed, true, "fast-forwarded", pushed));
        assertThat(live.readString("/code/app/NEW.md")).isEqualTo("new\n");

        List<GitTestServer.Request> packs = server.requestLog().stream().filter(r -> r.wants() > 0).toList();
        assertThat(packs).isNotEmpty().allMatch(GitTestServer.Request::isNegotiatedFetch);
        assertThat(server.requestLog()).noneMatch(GitTestServer.Request::isFullClone);

        // A task's edit of the same size in a container started from the cache image (every file has a new ctime
        // and inode there) is still seen: the next fetch reports a dirty tree and keeps the edit.
        Workspace fromCache = p.create(config);
        fromCache.writeString("/code/app/README.md", "HELLO\n");
        String second = server.commit(repo, Map.of("SECOND.md", "2\n"), "upstream again");
        assertThat(fromCache.fetch()).singleElement().satisfies(f -> {
            assertThat(f.status()).isEqualTo("dirty");
            assertThat(f.updated()).isFalse();
        });
        assertThat(fromCache.readString("/code/app/README.md")).isEqualTo("HELLO\n");
        assertThat(fromCache.exec("git -C /code/app rev-parse refs/remotes/origin/main").stdout().strip()).isEqualTo(second);

        // Reset of the workspace that had to fetch returns to its own clean state, with the new commit.
        fromOld.writeString("/code/app/NEW.md", "edited");
        fromOld.reset();
        assertThat(fromOld.readString("/code/app/NEW.md")).isEqualTo("new\n");
    }

    @Test
    void sixteenConcurrentColdCreatesRunSetupOnce() throws Exception {
        DockerProvider p = provider();
        String repo = newRepo();
        WorkspaceConfig config = config(repo).build();
        int n = 16;
        CyclicBarrier barrier = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Tasks> tasks = new CopyOnWriteArrayList<>();
        try {
            List<Future<Workspace>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    Tasks t = new Tasks();
                    tasks.add(t);
                    barrier.await();
                    return p.create(config, t);
                }));
            }
            List<String> runIds = new ArrayList<>();
            for (Future<Workspace> f : futures) {
                Workspace ws = f.get(240, TimeUnit.SECONDS);
                runIds.add(ws.readString("/setup-run-id"));
                assertThat(ws.readString("/code/app/README.md")).isEqualTo("hello\n");
            }
            assertThat(runIds).hasSize(n).containsOnly(runIds.get(0));
            assertThat(tasks).filteredOn(t -> t.titles.contains("setup script")).hasSize(1);
            assertThat(p.list()).hasSize(n);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void resetUndoesEverythingKeepsTheIdAndCheckpointsRestore() {
        DockerProvider p = provider();
        Workspace ws = p.create(config(newRepo()).build());
        String id = ws.id();
        ws.exec("echo edited > /code/app/README.md && echo added > /code/app/added.txt && rm /code/app/pom.xml"
                + " && echo out > /outside.txt && rm /deps/lib.txt");
        String checkpoint = ws.checkpoint();
        ws.exec("echo later > /code/app/README.md && echo later > /later.txt");

        ws.restore(checkpoint);
        assertThat(ws.readString("/code/app/README.md")).isEqualTo("edited\n");
        assertThat(ws.exec("test -e /later.txt").exitCode()).isNotZero();
        assertThat(ws.readString("/outside.txt")).isEqualTo("out\n");

        ws.reset();
        assertThat(ws.id()).isEqualTo(id);
        assertThat(p.get(id)).isSameAs(ws);
        assertThat(ws.readString("/code/app/README.md")).isEqualTo("hello\n");
        assertThat(ws.readString("/code/app/pom.xml")).isEqualTo("<project/>\n");
        assertThat(ws.readString("/deps/lib.txt")).isEqualTo("lib\n");
        assertThat(ws.exec("test -e /code/app/added.txt || test -e /outside.txt").exitCode()).isNotZero();
        assertThat(ws.exec("git -C /code/app status --porcelain").stdout()).isEmpty();
        ws.close();
        assertThat(p.cache().store().list()).allSatisfy(s -> assertThat(s.leases()).isZero());
        assertThat(images("derrick-checkpoint/" + id)).isEmpty();
    }

    @Test
    void failingSetupLeavesNoEntryAndNoImage() {
        DockerProvider p = provider();
        String repo = newRepo();
        WorkspaceConfig config = config(repo).setupScript("echo broken >&2; exit 7").build();
        assertThatThrownBy(() -> p.create(config)).isInstanceOfSatisfying(SetupFailedException.class,
                e -> assertThat(e.exitCode()).isEqualTo(7));
        String key = DockerCache.key(config, DEBIAN).hex();
        assertThat(p.cache().store().list()).noneMatch(s -> s.entry().key().equals(key));
        assertThat(images("derrick-cache/cache-it-" + repo)).isEmpty();
        assertThat(p.list()).isEmpty();
    }

    @Test
    void noTokenInTheCacheImageOrTheMirrors() throws Exception {
        DockerProvider p = provider();
        String repo = newRepo();
        Workspace ws = p.create(config(repo).build());
        server.commit(repo, Map.of("x.txt", "x"), "x");
        ws.fetch();
        String image = p.cache().store().find(DockerCache.key(config(repo).build(), DEBIAN)).orElseThrow().details().get("image");
        byte[] saved = docker("save", image);
        assertThat(saved.length).isGreaterThan(1000);
        assertThat(new String(saved, StandardCharsets.ISO_8859_1)).doesNotContain(TOKEN);
        try (var files = java.nio.file.Files.walk(cacheDir)) {
            for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                assertThat(new String(java.nio.file.Files.readAllBytes(f), StandardCharsets.ISO_8859_1))
                        .as("token in %s", f).doesNotContain(TOKEN);
            }
        }
        assertThat(ws.exec("grep -r -l '" + TOKEN + "' /code /tmp /root 2>/dev/null").stdout()).isEmpty();
    }

    @Test
    void aProviderKilledMidSetupLeavesNoEntryALaterCreateUses() throws Exception {
        String repo = newRepo();
        server.commit(repo, Map.of("SLEEP", "120"), "make the setup hang"); // content is not in the key
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), KilledDockerSetupMain.class.getName(),
                cacheDir.toString(), server.url(repo), TOKEN, DEBIAN).redirectErrorStream(true).start();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null && !line.equals("TASK setup script")) {
                // wait until the setup script runs
            }
            assertThat(line).as("child reached the setup script").isEqualTo("TASK setup script");
            Thread.sleep(1000);
            child.destroyForcibly(); // SIGKILL: no shutdown hook
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            child.destroyForcibly();
        }
        WorkspaceConfig config = WorkspaceConfig.builder("crash").image(DEBIAN)
                .repository(RepositoryConfig.of(server.url(repo), "/code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript(KilledDockerSetupMain.SCRIPT).build();
        Map<String, String> delete = new java.util.HashMap<>();
        delete.put("SLEEP", null);
        String fixed = server.commit(repo, delete, "setup no longer hangs");
        DockerProvider p = provider(); // reaps the dead child's container and unused cache images
        assertThat(p.cache().store().find(DockerCache.key(config, DEBIAN))).isEmpty();
        assertThat(images("derrick-cache/crash")).isEmpty();
        Tasks tasks = new Tasks();
        Workspace ws = p.create(config, tasks);
        assertThat(tasks.titles).contains("setup script");
        assertThat(ws.readString("/half-done")).isEqualTo("half\n");
        assertThat(p.cache().store().find(DockerCache.key(config, DEBIAN)).orElseThrow().commitOf("code/app")).isEqualTo(fixed);
    }

    /** Images of this test's cache directory (earlier runs' images carry another directory label). */
    List<Image> images(String reference) {
        String mine = provider.cache().store().directory().toString();
        return provider.engine().client().listImagesCmd().exec().stream()
                .filter(i -> reference.startsWith("derrick-checkpoint/") || (i.getLabels() != null
                        && mine.equals(i.getLabels().get(DockerCache.LABEL_CACHE_DIR))))
                .filter(i -> i.getRepoTags() != null && java.util.Arrays.stream(i.getRepoTags()).anyMatch(t -> t.startsWith(reference + ":")))
                .toList();
    }

    static byte[] docker(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("docker"));
        cmd.addAll(List.of(args));
        Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = proc.getInputStream()) {
            in.transferTo(out);
        }
        assertThat(proc.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(proc.exitValue()).isZero();
        return out.toByteArray();
    }

    static String env(String key, String fallback) {
        String v = System.getenv(key);
        return v == null || v.isBlank() ? fallback : v;
    }
}
