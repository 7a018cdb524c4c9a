package dev.derrick.core.cache;

import dev.derrick.api.RepositoryState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
class CacheStoreTest {
    @TempDir
    Path root;

    final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    final List<String> removedHook = new ArrayList<>();

    CacheStore store() {
        return new CacheStore(root, "local", e -> removedHook.add(e.id()), clock);
    }

    static CacheKey key(String seed) {
        return CacheKey.of("local", dev.derrick.api.WorkspaceConfig.builder(seed).setupScript(seed).build());
    }

    static CacheEntry meta(String name, long size) {
        return new CacheEntry(null, null, null, name,
                List.of(new RepositoryState("code/a", "http://h/a.git", "c0ffee", "main")), null, null, size, "snapshot",
                Map.of("k", "v"));
    }

    CacheEntry publish(CacheStore store, CacheKey key, long size) throws IOException {
        try (CacheStore.Pending pending = store.begin(key)) {
            Files.createDirectories(pending.directory().resolve("snapshot"));
            Files.writeString(pending.directory().resolve("snapshot/file.txt"), "x".repeat((int) size));
            CacheStore.Lease lease = pending.publish(meta("cfg-" + key.shortHex(), size));
            lease.close();
            return lease.entry();
        }
    }

    @Test
    void publishedEntryIsFoundWithItsMetadataAndPayload() throws IOException {
        CacheStore store = store();
        CacheKey key = key("a");
        assertThat(store.find(key)).isEmpty();
        CacheEntry entry = publish(store, key, 10);

        CacheEntry found = store.find(key).orElseThrow();
        assertThat(found.key()).isEqualTo(key.hex());
        assertThat(found.backend()).isEqualTo("local");
        assertThat(found.commitOf("code/a")).isEqualTo("c0ffee");
        assertThat(found.created()).isEqualTo(clock.instant());
        assertThat(found.details()).containsEntry("k", "v");
        assertThat(store.entryDir(found).resolve("snapshot/file.txt")).hasContent("x".repeat(10));
        assertThat(store.entryDir(found).resolve(CacheStore.ENTRY_FILE)).content().contains("\"config_name\"");
        assertThat(found.id()).isEqualTo(entry.id());
        // A second store on the same directory (another process) sees it too.
        assertThat(new CacheStore(root, "local", null).find(key)).contains(found);
    }

    @Test
    void anEntryWrittenBeforeRepositoriesHadNamesAndRemoteStateStillReads() throws IOException {
        CacheStore store = store();
        CacheKey key = key("old");
        CacheEntry entry = publish(store, key, 3);
        // entry.json as 0.1.0 snapshots before freshness reporting wrote it: no name, remote_commit, behind, status
        Files.writeString(store.entryDir(entry).resolve(CacheStore.ENTRY_FILE), """
                {"key":"%s","generation":"%s","backend":"local","config_name":"old",
                 "repositories":[{"path":"code/a","url":"http://h/a.git","commit":"c0ffee","branch":"main"}],
                 "created":"2026-11-28T10:00:00Z","last_used":"2026-11-28T10:00:00Z","size_bytes":3,
                 "payload":"snapshot","details":{}}
                """.formatted(entry.key(), entry.generation()));
        assertThat(store.find(key)).hasValueSatisfying(e -> assertThat(e.repositories()).singleElement()
                .satisfies(r -> {
                    assertThat(r.commit()).isEqualTo("c0ffee");
                    assertThat(r.behind()).isFalse();
                    assertThat(r.remoteCommit()).isNull();
                }));
    }

    @Test
    void unpublishedWorkIsInvisibleAndDiscardedOnClose() throws IOException {
        CacheStore store = store();
        CacheKey key = key("a");
        Path tmp;
        try (CacheStore.Pending pending = store.begin(key)) {
            tmp = pending.directory();
            Files.writeString(tmp.resolve(CacheStore.ENTRY_FILE), "{}");
            assertThat(store.find(key)).isEmpty();
            assertThat(store.list()).isEmpty();
        }
        assertThat(tmp).doesNotExist();
    }

    @Test
    void leftoversOfADeadProcessAreCollected() throws IOException {
        CacheStore store = store();
        CacheKey key = key("a");
        // What a killed provider leaves: a temporary dir named after a pid that no longer runs, and a lease of it.
        long deadPid = deadPid();
        Path tmp = store.directory().resolve(".tmp-" + key.hex() + "-" + deadPid + "-abcd1234");
        Files.createDirectories(tmp.resolve("snapshot"));
        Files.writeString(tmp.resolve(CacheStore.ENTRY_FILE), "{}");
        Path alive = store.directory().resolve(".tmp-" + key.hex() + "-" + ProcessHandle.current().pid() + "-live0000");
        Files.createDirectories(alive);

        CacheEntry entry = publish(store, key, 5);
        Path deadLease = store.directory().resolve("leases").resolve(entry.id()).resolve(deadPid + "-x");
        Files.createDirectories(deadLease.getParent());
        Files.writeString(deadLease, "");
        assertThat(store.list()).singleElement().satisfies(s -> assertThat(s.leases()).isZero());

        assertThat(store.collectGarbage()).isEqualTo(2);
        assertThat(tmp).doesNotExist();
        assertThat(deadLease).doesNotExist();
        assertThat(alive).exists();
        assertThat(store.find(key)).isPresent();
    }

    @Test
    void leasesAndBuildsNameTheirOwnerAndAReusedPidDoesNotKeepThemAlive() throws Exception {
        CacheStore store = store();
        CacheKey key = key("a");
        Process sleep = new ProcessBuilder("sleep", "300").start();
        try {
            long ticks = 0;
            for (int i = 0; i < 100 && ticks == 0; i++) {
                ticks = dev.derrick.core.process.ProcessStart.of(sleep.pid());
            }
            dev.derrick.core.process.OwnerId me = dev.derrick.core.process.OwnerId.current();
            // the sleep's pid, recorded with another start: its owner is gone and the pid reused
            String reused = new dev.derrick.core.process.OwnerId(sleep.pid(), ticks - 1, me.bootId(), me.host()).text();
            String live = new dev.derrick.core.process.OwnerId(sleep.pid(), ticks, me.bootId(), me.host()).text();

            try (CacheStore.Pending pending = store.begin(key)) {
                Path owner = pending.directory().resolveSibling(pending.directory().getFileName() + ".owner");
                assertThat(owner).hasContent(me.text());
                CacheEntry entry;
                try (CacheStore.Lease mine = pending.publish(meta("cfg-a", 5))) {
                    entry = mine.entry();
                    assertThat(owner).doesNotExist();
                    assertThat(mine.directory().resolve(".owner")).doesNotExist();
                    Path leases = store.directory().resolve("leases").resolve(entry.id());
                    try (var files = Files.list(leases)) {
                        assertThat(files.toList()).singleElement().satisfies(f -> assertThat(f).hasContent(me.text()));
                    }
                    Files.writeString(leases.resolve(sleep.pid() + "-reused"), reused);
                    Files.writeString(leases.resolve(sleep.pid() + "-live"), live);
                    assertThat(store.list()).singleElement().satisfies(s -> assertThat(s.leases()).isEqualTo(2));
                }
                assertThat(store.list()).singleElement().satisfies(s -> assertThat(s.leases()).isEqualTo(1));
            }

            Path build = store.directory().resolve(".tmp-" + key.hex() + "-" + sleep.pid() + "-abcd1234");
            Files.createDirectories(build);
            Files.writeString(build.resolveSibling(build.getFileName() + ".owner"), reused);
            Path liveBuild = store.directory().resolve(".tmp-" + key.hex() + "-" + sleep.pid() + "-live0000");
            Files.createDirectories(liveBuild);
            Files.writeString(liveBuild.resolveSibling(liveBuild.getFileName() + ".owner"), live);
            assertThat(store.collectGarbage()).isEqualTo(3); // the reused lease, the build of the reused pid and its owner file
            assertThat(build).doesNotExist();
            assertThat(build.resolveSibling(build.getFileName() + ".owner")).doesNotExist();
            assertThat(liveBuild).exists();
            assertThat(store.list()).singleElement().satisfies(s -> assertThat(s.leases()).isEqualTo(1));
        } finally {
            sleep.destroyForcibly();
        }
    }

    @Test
    void lruEvictionBySizeNeverTouchesEntriesInUse() throws IOException {
        CacheStore store = store();
        CacheEntry a = publish(store, key("a"), 100);
        clock.advance(Duration.ofMinutes(1));
        CacheEntry b = publish(store, key("b"), 100);
        clock.advance(Duration.ofMinutes(1));
        CacheEntry c = publish(store, key("c"), 100);
        clock.advance(Duration.ofMinutes(1));
        // Use a again: now b is the least recently used, and a is held by a live workspace.
        CacheStore.Lease holdA = store.acquire(key("a")).orElseThrow();

        List<CacheEntry> removed = store.prune(new EvictionPolicy(null, 150));

        assertThat(removed).extracting(CacheEntry::id).containsExactly(b.id(), c.id());
        assertThat(removedHook).containsExactly(b.id(), c.id());
        assertThat(store.find(key("a"))).isPresent();
        assertThat(store.find(key("b"))).isEmpty();
        assertThat(store.entryDir(b)).doesNotExist();

        // Still in use: even a zero budget keeps it.
        assertThat(store.prune(new EvictionPolicy(Duration.ZERO, 1))).isEmpty();
        holdA.close();
        clock.advance(Duration.ofSeconds(1));
        assertThat(store.prune(new EvictionPolicy(Duration.ZERO, 0))).extracting(CacheEntry::id).containsExactly(a.id());
        assertThat(store.list()).isEmpty();
    }

    @Test
    void ageEvictionUsesLastUse() throws IOException {
        CacheStore store = store();
        publish(store, key("old"), 1);
        clock.advance(Duration.ofDays(3));
        publish(store, key("new"), 1);
        clock.advance(Duration.ofDays(1));
        assertThat(store.prune(new EvictionPolicy(Duration.ofDays(2), 0))).extracting(CacheEntry::configName)
                .containsExactly("cfg-" + key("old").shortHex());
        assertThat(store.list()).extracting(s -> s.entry().configName()).containsExactly("cfg-" + key("new").shortHex());
    }

    @Test
    void aNewerGenerationReplacesTheOldOnceItsLastLeaseCloses() throws IOException {
        CacheStore store = store();
        CacheKey key = key("a");
        publish(store, key, 1);
        CacheStore.Lease old = store.acquire(key).orElseThrow();
        clock.advance(Duration.ofSeconds(1));
        CacheEntry newer = publish(store, key, 2);

        assertThat(store.find(key)).map(CacheEntry::id).contains(newer.id());
        assertThat(store.list()).hasSize(2).filteredOn(CacheStore.Status::superseded).singleElement()
                .satisfies(s -> assertThat(s.entry().id()).isEqualTo(old.entry().id()));
        assertThat(old.directory()).exists();

        old.close();
        assertThat(old.directory()).doesNotExist();
        assertThat(store.list()).singleElement().satisfies(s -> assertThat(s.entry().id()).isEqualTo(newer.id()));
    }

    @Test
    void leasesTouchLastUsed() throws IOException {
        CacheStore store = store();
        CacheEntry entry = publish(store, key("a"), 1);
        clock.advance(Duration.ofHours(1));
        try (CacheStore.Lease lease = store.acquire(key("a")).orElseThrow()) {
            assertThat(lease.entry().lastUsed()).isEqualTo(entry.created().plus(Duration.ofHours(1)));
            assertThat(store.list()).singleElement().satisfies(s -> {
                assertThat(s.inUse()).isTrue();
                assertThat(s.entry().lastUsed()).isEqualTo(lease.entry().lastUsed());
            });
        }
        assertThat(store.list()).singleElement().satisfies(s -> assertThat(s.inUse()).isFalse());
    }

    @Test
    void deletesReadOnlyTrees() throws IOException {
        Path tree = root.resolve("ro");
        Files.createDirectories(tree.resolve("a/b"));
        Files.writeString(tree.resolve("a/b/f"), "x");
        tree.resolve("a/b").toFile().setWritable(false);
        tree.resolve("a").toFile().setWritable(false);
        FileTrees.delete(tree);
        assertThat(tree).doesNotExist();
    }

    @Test
    void copiesTreesWithLinksAndSizesThem() throws IOException {
        Path src = root.resolve("src");
        Files.createDirectories(src.resolve("d"));
        Files.writeString(src.resolve("d/f"), "12345");
        Files.createSymbolicLink(src.resolve("link"), Path.of("d/f"));
        Path dst = root.resolve("dst");
        FileTrees.copy(src, dst);
        assertThat(dst.resolve("d/f")).hasContent("12345");
        assertThat(Files.isSymbolicLink(dst.resolve("link"))).isTrue();
        assertThat(FileTrees.size(dst)).isEqualTo(5);
        Path javaDst = root.resolve("javaDst");
        FileTrees.javaCopy(src, javaDst);
        assertThat(javaDst.resolve("d/f")).hasContent("12345");
        assertThat(Files.isSymbolicLink(javaDst.resolve("link"))).isTrue();
        try (Stream<Path> s = Files.list(root)) {
            assertThat(s.count()).isEqualTo(3);
        }
    }

    static long deadPid() throws IOException {
        Process p = new ProcessBuilder("true").start();
        try {
            p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return p.pid();
    }

    static final class MutableClock extends Clock {
        private final AtomicReference<Instant> now;

        MutableClock(Instant start) {
            now = new AtomicReference<>(start);
        }

        void advance(Duration d) {
            now.updateAndGet(i -> i.plus(d));
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }
}
