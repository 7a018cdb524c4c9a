package dev.derrick.server;

import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Storage faults under the real HTTP server and the {@code local} provider: the cache directory removed while the
 * server runs, the cache on a file system turned read-only, and the disk (a small tmpfs the test mounts) filling up
 * during a setup script. Each ends in a clear 4xx/503 — never a 500 — with no half-written cache entry, and creates
 * work again once the fault is gone.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class StorageFaultsIT {
    private Path tmp;
    private Operations operations;
    private HttpApiServer server;
    private final List<Path> mounts = new ArrayList<>();

    private ApiClient start(Path root, Path cache) throws Exception {
        operations = new Operations(WorkspaceProviders.open("local", Map.of("root", root.toString(),
                "cache_dir", cache.toString())), null, new Redactor());
        server = HttpApiServer.builder(operations).port(0).start();
        return new ApiClient(server.uri(), null);
    }

    private Path tmpfs(String name, String size) throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounting a tmpfs needs root");
        Path dir = Files.createDirectories(tmp.resolve(name));
        sh("mount -t tmpfs -o size=" + size + " derrick-test-tmpfs " + dir);
        mounts.add(dir);
        return dir;
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (operations != null) {
            operations.close();
        }
        for (Path m : mounts) {
            sh("mount -o remount,rw " + m + " 2>/dev/null; umount -l " + m);
        }
        if (tmp != null) {
            FileTrees.deleteQuietly(tmp);
        }
    }

    private static String config(String name, String setup) {
        return "{\"config\":{\"name\":\"" + name + "\",\"setup_script\":" + ApiClient.quote(setup) + "}}";
    }

    @Test
    void aRemovedCacheDirectoryIsMadeAgain() throws Exception {
        tmp = Files.createTempDirectory("derrick-faults-");
        Path cache = tmp.resolve("cache");
        ApiClient api = start(tmp.resolve("ws"), cache);
        String first = api.create(config("a", "echo one > one.txt"));
        FileTrees.deleteQuietly(cache);
        assertThat(cache).doesNotExist();
        // the same config (its entry is gone) and a new one
        String again = api.create(config("a", "echo one > one.txt"));
        String other = api.create(config("b", "echo two > two.txt"));
        assertThat(api.cmd(again, "cat one.txt").get("output").asText()).isEqualTo("one\n");
        assertThat(api.cmd(other, "cat two.txt").get("output").asText()).isEqualTo("two\n");
        // the workspace made before keeps answering (its files may be gone with the entry it was made from)
        assertThat(api.send("POST", "/workspaces/" + first + "/cmd_with_output", "{\"cmd\":\"true\"}").statusCode())
                .isEqualTo(200);
        assertThat(cache).isDirectory();
    }

    @Test
    void aReadOnlyCacheIsA503UntilItCanBeWrittenAgain() throws Exception {
        tmp = Files.createTempDirectory("derrick-faults-");
        Path fs = tmpfs("ro", "64m");
        ApiClient api = start(tmp.resolve("ws"), fs.resolve("cache"));
        api.create(config("a", "echo one > one.txt"));
        sh("mount -o remount,ro " + fs);
        HttpResponse<byte[]> refused = api.send("POST", "/workspaces", config("b", "echo two > two.txt"));
        String body = new String(refused.body(), StandardCharsets.UTF_8);
        assertThat(refused.statusCode()).as(body).isEqualTo(503);
        assertThat(ApiClient.json(refused).get("error").asText()).isEqualTo("provider_unavailable");
        assertThat(body).contains("read-only").doesNotContain("Exception");
        sh("mount -o remount,rw " + fs);
        String b = api.create(config("b", "echo two > two.txt"));
        assertThat(api.cmd(b, "cat two.txt").get("output").asText()).isEqualTo("two\n");
    }

    @Test
    void aDiskFullDuringSetupIsAClearErrorAndLeavesNoEntry() throws Exception {
        tmp = Files.createTempDirectory("derrick-faults-");
        Path fs = tmpfs("full", "16m");
        Path cache = fs.resolve("cache");
        ApiClient api = start(fs.resolve("ws"), cache);
        long freeBefore = Files.getFileStore(fs).getUsableSpace();
        // the setup script fills the disk
        HttpResponse<byte[]> full = api.send("POST", "/workspaces",
                config("big", "head -c 40000000 /dev/zero > big.bin"));
        String body = new String(full.body(), StandardCharsets.UTF_8);
        assertThat(full.statusCode()).as(body).isIn(422, 503);
        assertThat(body.toLowerCase(java.util.Locale.ROOT)).containsAnyOf("no space left on device", "disk is full");
        // a setup that fits, then one whose snapshot no longer fits
        HttpResponse<byte[]> half = api.send("POST", "/workspaces", config("half", "head -c 9000000 /dev/zero > half.bin"));
        String halfBody = new String(half.body(), StandardCharsets.UTF_8);
        assertThat(half.statusCode()).as(halfBody).isIn(200, 422, 503);
        if (half.statusCode() == 200) {
            api.send("DELETE", "/workspaces/" + ApiClient.json(half).get("id").asText(), null);
        }
        assertThat(entries(cache, "big")).as("no entry for the failed setup").isEmpty();
        // the space is given back and a small workspace works
        String small = api.create(config("small", "echo ok > ok.txt"));
        assertThat(api.cmd(small, "cat ok.txt").get("output").asText()).isEqualTo("ok\n");
        api.send("DELETE", "/workspaces/" + small, null);
        System.out.println("[faults] disk full during setup: " + full.statusCode() + " " + body
                + "; snapshot-sized setup: " + half.statusCode() + "; free before " + freeBefore / 1024 + " KiB, after "
                + Files.getFileStore(fs).getUsableSpace() / 1024 + " KiB");
        assertThat(Files.getFileStore(fs).getUsableSpace()).isGreaterThan(freeBefore - 10L * 1024 * 1024);
    }

    /** Cache entry directories whose metadata names {@code configName}. */
    private static List<Path> entries(Path cache, String configName) throws Exception {
        List<Path> found = new ArrayList<>();
        if (!Files.exists(cache)) {
            return found;
        }
        try (Stream<Path> all = Files.walk(cache, 3)) {
            for (Path p : (Iterable<Path>) all.filter(Files::isRegularFile)::iterator) {
                if (p.getFileName().toString().endsWith(".json")
                        && Files.readString(p).contains("\"" + configName + "\"")) {
                    found.add(p.getParent());
                }
            }
        }
        return found;
    }

    private static void sh(String command) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(command + " failed: " + out);
        }
    }
}
