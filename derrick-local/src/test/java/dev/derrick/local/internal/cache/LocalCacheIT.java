package dev.derrick.local.internal.cache;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.core.git.GitClient;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(120)
class LocalCacheIT {
    static final String TOKEN = "tok-" + UUID.randomUUID();
    static GitTestServer server;

    @TempDir
    Path tmp;

    final List<AutoCloseable> toClose = new CopyOnWriteArrayList<>();
    final GitClient git = new GitClient(Map.of("GIT_TOKEN", TOKEN), new Redactor());

    @BeforeAll
    static void start() {
        server = GitTestServer.start(TOKEN);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    String newRepo() {
        String name = "r" + UUID.randomUUID().toString().substring(0, 8);
        server.createRepository(name, Map.of("README.md", "hello\n", "pom.xml", "<project/>\n", "src/A.java", "class A {}\n"));
        return name;
    }

    LocalCache cache(LocalCache.Mode mode) {
        LocalCache cache = new LocalCache(tmp.resolve("cache"), git, mode, EvictionPolicy.NONE);
        toClose.add(cache);
        return cache;
    }

    WorkspaceConfig.Builder config(String repo, Path counter) {
        return WorkspaceConfig.builder("it-" + repo)
                .repository(RepositoryConfig.of(server.url(repo), "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("echo run >> '" + counter + "' && echo built > setup-output.txt && mkdir -p deps && echo lib > deps/lib.txt");
    }

    LocalInstance create(LocalCache cache, WorkspaceConfig config) {
        LocalInstance ws = cache.create(config, tmp.resolve("ws-" + UUID.randomUUID()), new BashRunner(), null);
        toClose.add(ws);
        return ws;
    }

    static long lines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }

    @ParameterizedTest
    @EnumSource(value = LocalCache.Mode.class, names = {"COPY", "AUTO"})
    void secondCreateDoesNotRunSetupAgainAndHasReposAndSetupOutput(LocalCache.Mode mode) throws IOException {
        String repo = newRepo();
        Path counter = tmp.resolve("counter.txt");
        LocalCache cache = cache(mode);
        WorkspaceConfig config = config(repo, counter).build();

        LocalInstance first = create(cache, config);
        LocalInstance second = create(cache, config);

        assertThat(lines(counter)).isEqualTo(1);
        for (LocalInstance ws : List.of(first, second)) {
            assertThat(ws.root().resolve("code/app/README.md")).hasContent("hello");
            assertThat(ws.root().resolve("setup-output.txt")).hasContent("built");
            assertThat(ws.repositories()).singleElement().satisfies(r -> assertThat(r.branch()).isEqualTo("main"));
        }
        assertThat(second.cacheEntry().id()).isEqualTo(first.cacheEntry().id());
        if (mode == LocalCache.Mode.AUTO && Overlay.possible()) {
            assertThat(second.mode()).isEqualTo("overlay");
        }
        // Workspaces are independent.
        Files.writeString(first.root().resolve("code/app/README.md"), "changed");
        assertThat(second.root().resolve("code/app/README.md")).hasContent("hello");
        assertThat(cache.store().list()).singleElement().satisfies(s -> assertThat(s.leases()).isEqualTo(2));
    }

    @Test
    void copyModeSharesGitObjectsAndATaskRepackingOrDeletingThemLeavesTheEntryIntact() throws Exception {
        String repo = newRepo();
        LocalCache cache = cache(LocalCache.Mode.COPY);
        WorkspaceConfig config = config(repo, tmp.resolve("c.txt")).build();
        LocalInstance first = create(cache, config);
        LocalInstance second = create(cache, config);
        Path objects = Path.of("code/app/.git/objects");
        List<Path> shared;
        try (Stream<Path> files = Files.walk(first.root().resolve(objects))) {
            shared = files.filter(Files::isRegularFile).map(p -> first.root().resolve(objects).relativize(p)).toList();
        }
        assertThat(shared).isNotEmpty();
        for (Path p : shared) {
            assertThat(Files.isSameFile(first.root().resolve(objects).resolve(p), second.root().resolve(objects).resolve(p)))
                    .as("object file %s is shared", p).isTrue();
        }
        assertThat(Files.isSameFile(first.root().resolve("code/app/README.md"), second.root().resolve("code/app/README.md")))
                .isFalse();

        // A task that commits, repacks and prunes, then deletes the object store outright.
        Path work = first.root().resolve("code/app");
        Files.writeString(work.resolve("README.md"), "task");
        git(work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "task");
        git(work, "gc", "-q", "--aggressive", "--prune=now");
        git(work, "fsck", "--full");
        FileTrees.delete(work.resolve(".git/objects"));

        LocalInstance third = create(cache, config);
        git(third.root().resolve("code/app"), "fsck", "--full");
        git(second.root().resolve("code/app"), "fsck", "--full");
        assertThat(third.root().resolve("code/app/README.md")).hasContent("hello");
    }

    static void git(Path dir, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("git %s: %s", String.join(" ", args), output).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = LocalCache.Mode.class, names = {"COPY", "AUTO"})
    void newUpstreamCommitsAreFetchedNotCloned(LocalCache.Mode mode) throws IOException {
        String repo = newRepo();
        LocalCache cache = cache(mode);
        WorkspaceConfig config = config(repo, tmp.resolve("c.txt")).updateScript("echo updated >> update-ran.txt").build();
        LocalInstance live = create(cache, config);
        String built = live.cacheEntry().commitOf("code/app");

        String pushed = server.commit(repo, Map.of("NEW.md", "new\n"), "upstream change");
        server.clearRequestLog();

        LocalInstance fromOldEntry = create(cache, config);
        assertThat(fromOldEntry.cacheEntry().commitOf("code/app")).isEqualTo(built);
        assertThat(fromOldEntry.repositories().get(0).commit()).isEqualTo(pushed);
        assertThat(fromOldEntry.root().resolve("code/app/NEW.md")).hasContent("new");
        assertThat(fromOldEntry.root().resolve("update-ran.txt")).hasContent("updated");
        // Its clean state is the one it was handed out in: reset keeps the fetched commit.
        Files.writeString(fromOldEntry.root().resolve("code/app/NEW.md"), "task edit");
        fromOldEntry.reset();
        assertThat(fromOldEntry.root().resolve("code/app/NEW.md")).hasContent("new");
        assertThat(fromOldEntry.repositories().get(0).commit()).isEqualTo(pushed);

        List<RepositoryFetch> fetched = live.fetch(null);
        assertThat(fetched).singleElement().satisfies(f -> {
            assertThat(f.before()).isEqualTo(built);
            assertThat(f.after()).isEqualTo(pushed);
            assertThat(f.updated()).isTrue();
        });
        assertThat(live.root().resolve("code/app/NEW.md")).hasContent("new");

        List<GitTestServer.Request> uploads = server.requestLog().stream()
                .filter(r -> "git-upload-pack".equals(r.service()) && "POST".equals(r.method()) && r.wants() > 0).toList();
        // One pack request per fetch (protocol v2's ls-refs POST carries no wants), each negotiated with haves.
        assertThat(uploads).hasSize(2).allMatch(GitTestServer.Request::isNegotiatedFetch)
                .noneMatch(GitTestServer.Request::isFullClone);
    }

    @Test
    void sixteenConcurrentColdCreatesRunSetupOnce() throws Exception {
        String repo = newRepo();
        Path counter = tmp.resolve("counter.txt");
        LocalCache cache = cache(LocalCache.Mode.AUTO);
        WorkspaceConfig config = config(repo, counter).setupScript("echo run >> '" + counter + "'; sleep 1; echo ok > out.txt").build();
        int n = 16;
        CyclicBarrier barrier = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<LocalInstance>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    barrier.await();
                    return create(cache, config);
                }));
            }
            for (Future<LocalInstance> f : futures) {
                LocalInstance ws = f.get(60, TimeUnit.SECONDS);
                assertThat(ws.root().resolve("out.txt")).hasContent("ok");
                assertThat(ws.root().resolve("code/app/README.md")).exists();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(lines(counter)).isEqualTo(1);
        assertThat(cache.store().list()).singleElement().satisfies(s -> assertThat(s.leases()).isEqualTo(n));
    }

    @ParameterizedTest
    @EnumSource(value = LocalCache.Mode.class, names = {"COPY", "AUTO"})
    void resetUndoesEverythingAndRestoreReturnsToACheckpoint(LocalCache.Mode mode) throws Exception {
        String repo = newRepo();
        LocalCache cache = cache(mode);
        LocalInstance ws = create(cache, config(repo, tmp.resolve("c.txt")).build());
        Path root = ws.root();

        // A task: edits, adds and deletes, inside and outside the repository.
        Files.writeString(root.resolve("code/app/README.md"), "edited");
        Files.writeString(root.resolve("code/app/added.txt"), "added");
        Files.delete(root.resolve("code/app/pom.xml"));
        Files.writeString(root.resolve("setup-output.txt"), "edited too");
        Files.delete(root.resolve("deps/lib.txt"));
        Files.createDirectories(root.resolve("new-dir/sub"));
        Files.writeString(root.resolve("new-dir/sub/f.txt"), "x");
        String checkpoint = ws.checkpoint();

        Files.writeString(root.resolve("code/app/README.md"), "edited again");
        Files.writeString(root.resolve("after-checkpoint.txt"), "later");

        ws.restore(checkpoint);
        assertThat(root.resolve("code/app/README.md")).hasContent("edited");
        assertThat(root.resolve("code/app/added.txt")).hasContent("added");
        assertThat(root.resolve("code/app/pom.xml")).doesNotExist();
        assertThat(root.resolve("deps/lib.txt")).doesNotExist();
        assertThat(root.resolve("new-dir/sub/f.txt")).hasContent("x");
        assertThat(root.resolve("after-checkpoint.txt")).doesNotExist();

        ws.reset();
        assertThat(root.resolve("code/app/README.md")).hasContent("hello");
        assertThat(root.resolve("code/app/added.txt")).doesNotExist();
        assertThat(root.resolve("code/app/pom.xml")).hasContent("<project/>");
        assertThat(root.resolve("setup-output.txt")).hasContent("built");
        assertThat(root.resolve("deps/lib.txt")).hasContent("lib");
        assertThat(root.resolve("new-dir")).doesNotExist();
        assertThat(new org.eclipse.jgit.api.Git(new org.eclipse.jgit.storage.file.FileRepositoryBuilder()
                .setWorkTree(root.resolve("code/app").toFile()).build()).status().call().isClean()).isTrue();

        // The checkpoint survives a reset, and dies with the workspace.
        ws.restore(checkpoint);
        assertThat(root.resolve("code/app/added.txt")).hasContent("added");
        ws.close();
        assertThat(root).doesNotExist();
        assertThat(children(tmp.resolve("cache/local-instances"))).isEmpty();
    }

    @Test
    void aFailingSetupLeavesNoEntryAndReportsItsOutput() {
        String repo = newRepo();
        LocalCache cache = cache(LocalCache.Mode.AUTO);
        WorkspaceConfig config = config(repo, tmp.resolve("c.txt")).setupScript("echo broken dependency >&2; exit 3").build();
        Path root = tmp.resolve("ws-failed");
        assertThatThrownBy(() -> cache.create(config, root, new BashRunner(), null))
                .isInstanceOfSatisfying(SetupFailedException.class, e -> {
                    assertThat(e.exitCode()).isEqualTo(3);
                    assertThat(e.output()).contains("broken dependency");
                });
        assertThat(cache.store().list()).isEmpty();
        assertThat(root).doesNotExist();
        assertThat(children(cache.store().directory())).containsOnly("leases", ".lock", "eviction.json");
    }

    @Test
    void noTokenInAnyCacheEntry() throws IOException {
        String repo = newRepo();
        LocalCache cache = cache(LocalCache.Mode.AUTO);
        LocalInstance ws = create(cache, config(repo, tmp.resolve("c.txt")).build());
        server.commit(repo, Map.of("more.txt", "more"), "more");
        ws.fetch(null);
        create(cache, config(repo, tmp.resolve("c.txt")).build());
        byte[] token = TOKEN.getBytes(StandardCharsets.UTF_8);
        List<Path> scanned = new ArrayList<>();
        for (Path dir : List.of(cache.store().directory(), ws.root())) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    scanned.add(f);
                    assertThat(indexOf(Files.readAllBytes(f), token)).as("token in %s", f).isEqualTo(-1);
                }
            }
        }
        assertThat(scanned).anyMatch(p -> p.endsWith(".git/config")).anyMatch(p -> p.endsWith("entry.json"));
    }

    @Test
    void aChangedCacheKeyFileRebuildsTheEntryInTheBackground() throws Exception {
        String repo = newRepo();
        Path counter = tmp.resolve("counter.txt");
        LocalCache cache = cache(LocalCache.Mode.AUTO);
        WorkspaceConfig config = config(repo, counter).cacheKeyFile("pom.xml").updateScript("echo u >> updates.txt").build();
        LocalInstance first = create(cache, config);
        CacheEntry original = first.cacheEntry();

        server.commit(repo, Map.of("README.md", "only docs changed\n"), "docs");
        LocalInstance second = create(cache, config);
        cache.awaitBackgroundWork(60, TimeUnit.SECONDS);
        assertThat(second.root().resolve("code/app/README.md")).hasContent("only docs changed");
        assertThat(cache.store().find(original.cacheKey())).map(CacheEntry::id).contains(original.id());
        assertThat(lines(counter)).isEqualTo(1);

        String pomCommit = server.commit(repo, Map.of("pom.xml", "<project><dependencies/></project>\n"), "deps");
        LocalInstance third = create(cache, config);
        // This create succeeds from the old entry plus fetch and update script...
        assertThat(third.cacheEntry().id()).isEqualTo(original.id());
        assertThat(third.root().resolve("code/app/pom.xml")).hasContent("<project><dependencies/></project>");
        assertThat(third.root().resolve("updates.txt")).hasContent("u");
        // ...and the entry is rebuilt behind it.
        cache.awaitBackgroundWork(60, TimeUnit.SECONDS);
        assertThat(lines(counter)).isEqualTo(2);
        CacheEntry rebuilt = cache.store().find(original.cacheKey()).orElseThrow();
        assertThat(rebuilt.id()).isNotEqualTo(original.id());
        assertThat(rebuilt.commitOf("code/app")).isEqualTo(pomCommit);
        LocalInstance fourth = create(cache, config);
        assertThat(fourth.cacheEntry().id()).isEqualTo(rebuilt.id());
        assertThat(fourth.root().resolve("updates.txt")).doesNotExist();
        // The old generation stays while workspaces use it and goes with the last of them.
        Path oldDir = cache.store().entryDir(original);
        assertThat(oldDir).exists();
        first.close();
        second.close();
        third.close();
        assertThat(oldDir).doesNotExist();
    }

    @Test
    void aProviderKilledMidSetupLeavesNoEntryALaterCreateUses() throws Exception {
        String repo = newRepo();
        Path cacheDir = tmp.resolve("cache");
        Path started = tmp.resolve("started.txt");
        Path counter = tmp.resolve("counter.txt");
        String script = "echo run >> '" + counter + "'; echo half > half-done.txt; touch '" + started + "'; sleep 60";
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), KilledSetupMain.class.getName(),
                cacheDir.toString(), tmp.resolve("ws-child").toString(), server.url(repo), TOKEN, script, "AUTO")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(started) && System.nanoTime() < deadline && child.isAlive()) {
                Thread.sleep(50);
            }
            assertThat(started).as("child log: %s", Files.readString(tmp.resolve("child.log"))).exists();
            List<ProcessHandle> scripts = child.descendants().toList();
            child.destroyForcibly(); // SIGKILL, like kill -9: no shutdown hook runs
            child.waitFor(10, TimeUnit.SECONDS);
            scripts.forEach(ProcessHandle::destroyForcibly); // the orphaned setup script is ours to end too
        } finally {
            child.destroyForcibly();
        }
        CacheStore probe = new CacheStore(cacheDir, LocalCache.BACKEND, null);
        assertThat(probe.list()).isEmpty();
        assertThat(children(probe.directory())).anyMatch(n -> n.startsWith(".tmp-"));

        LocalCache cache = cache(LocalCache.Mode.AUTO);   // opening collects the dead process's leftovers
        assertThat(children(probe.directory())).noneMatch(n -> n.startsWith(".tmp-"));
        WorkspaceConfig config = config(repo, counter).setupScript("echo run >> '" + counter + "'; echo full > full.txt").build();
        LocalInstance ws = create(cache, config);
        assertThat(ws.root().resolve("full.txt")).hasContent("full");
        assertThat(ws.root().resolve("half-done.txt")).doesNotExist();
        assertThat(lines(counter)).isEqualTo(2);
    }

    static List<String> children(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
