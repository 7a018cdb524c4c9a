package dev.derrick.server;

import dev.derrick.api.RepositoryState;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheKey;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code derrick cache list|prune} on a real cache directory. */
@Timeout(60)
class CacheCommandTest {
    @TempDir
    Path dir;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int run(String... args) {
        return CacheCommand.commandLine(Map.of(), new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
    }

    CacheEntry entry(CacheStore store, String name, int bytes) throws Exception {
        CacheKey key = CacheKey.of(store.backend(), WorkspaceConfig.builder(name).setupScript(name).build());
        try (CacheStore.Pending p = store.begin(key)) {
            Files.createDirectories(p.directory().resolve("snapshot"));
            Files.write(p.directory().resolve("snapshot/f"), new byte[bytes]);
            try (CacheStore.Lease lease = p.publish(new CacheEntry(null, null, null, name,
                    List.of(new RepositoryState("code/app", "http://h/a.git", "0123456789abcdef0123456789abcdef01234567", "main")),
                    null, null, bytes, "snapshot", Map.of()))) {
                Thread.sleep(5); // distinct last-used times
                return lease.entry();
            }
        }
    }

    @Test
    void listsAndPrunesLeastRecentlyUsedFirstKeepingEntriesInUse() throws Exception {
        CacheStore local = new CacheStore(dir, "local", null);
        entry(local, "oldest", 3000);
        CacheEntry middle = entry(local, "middle", 2000);
        entry(local, "newest", 1000);
        CacheStore.Lease held = local.lease(middle);

        assertThat(run("list", "--cache-dir", dir.toString())).isZero();
        assertThat(out.toString()).contains("BACKEND", "oldest", "middle", "newest", "code/app@0123456789", "3 entries")
                .contains("2.9 KiB")
                .contains("local bound: at most 10.0 GiB, entries unused for 30d removed (default;")
                .contains("docker bound: at most 10.0 GiB");
        local.recordPolicy(new dev.derrick.core.cache.EvictionPolicy(java.time.Duration.ofDays(7), 5L << 30));
        out.getBuffer().setLength(0);
        assertThat(run("list", "--cache-dir", dir.toString())).isZero();
        assertThat(out.toString()).contains("local bound: at most 5.0 GiB, entries unused for 7d removed"
                + " (cache_max_bytes/cache_max_age of the last local provider started here)");

        out.getBuffer().setLength(0);
        assertThat(run("prune", "--cache-dir", dir.toString(), "--keep-size", "3500")).isZero();
        assertThat(out.toString()).contains("removed local").contains("(oldest,").doesNotContain("(middle,");
        assertThat(local.list()).extracting(s -> s.entry().configName()).containsExactlyInAnyOrder("middle", "newest");

        out.getBuffer().setLength(0);
        assertThat(run("prune", "--cache-dir", dir.toString())).isZero();
        assertThat(out.toString()).contains("(newest,").contains("1 in use kept");
        assertThat(local.list()).extracting(s -> s.entry().configName()).containsExactly("middle");
        held.close();

        out.getBuffer().setLength(0);
        assertThat(run("prune", "--cache-dir", dir.toString(), "--older-than", "1h")).isZero();
        assertThat(out.toString()).contains("removed 0 entries");
        assertThat(run("prune", "--cache-dir", dir.toString(), "--older-than", "0s")).isZero();
        assertThat(local.list()).isEmpty();
    }

    @Test
    void badInputIsOneClearLine() {
        assertThat(run("prune", "--cache-dir", dir.toString(), "--keep-size", "lots")).isEqualTo(2);
        assertThat(err.toString().strip()).isEqualTo("derrick cache: '--keep-size' must be a size like 512m or 20g, got 'lots'");
        assertThat(run("prune", "--bogus")).isEqualTo(2);
        assertThat(err.toString()).contains("Unknown option: '--bogus'");
    }

    @Test
    void isASubcommandOfDerrickThatNeedsNoProvisioningMode() {
        StringWriter cliErr = new StringWriter();
        assertThat(DerrickCli.run(new String[] {"cache", "list", "--cache-dir", dir.toString()}, Map.of(),
                new PrintWriter(cliErr, true))).isZero();
        assertThat(cliErr.toString()).isEmpty();
        assertThat(DerrickCli.run(new String[] {"-s", "http"}, Map.of(), new PrintWriter(cliErr, true))).isEqualTo(2);
        assertThat(cliErr.toString()).contains("--provisioning-mode");
    }
}
