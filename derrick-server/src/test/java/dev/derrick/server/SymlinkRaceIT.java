package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The symlink swap race, through the real HTTP server and the {@code local} provider: while a thread swaps
 * {@code x} between a directory inside the workspace and a link to a directory outside it (what a command in the
 * workspace can do), {@code read_file}, {@code write_file} and {@code list_files} under {@code x/} are hammered.
 * No read may return the outside secret, no write may land outside, no listing may show the outside directory.
 * Rounds: {@code -Dderrick.race.rounds} (default {@value #ROUNDS}).
 *
 * <p>The local provider (isolation {@code auto}, so a bubblewrap sandbox in CI) does its file operations inside the
 * workspace's sandbox, where the workspace is {@code /} and the outside directory does not exist: a link to it leads
 * nowhere, whenever it is swapped. Before that, this probe found an escape within a few dozen rounds.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class SymlinkRaceIT {
    static final int ROUNDS = 10_000;

    @Test
    void swappingALinkNeverReachesOutsideTheWorkspace() throws Exception {
        race("auto");
    }

    /** Without a sandbox the provider opens files on the host, walking the checked path with O_NOFOLLOW (HostFiles). */
    @Test
    void swappingALinkNeverReachesOutsideAnUnsandboxedWorkspace() throws Exception {
        race("none");
    }

    private void race(String isolation) throws Exception {
        int rounds = Integer.getInteger("derrick.race.rounds", ROUNDS);
        Path tmp = Files.createTempDirectory("derrick-race-");
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        String secret = "OUTSIDE-" + UUID.randomUUID();
        Files.writeString(outside.resolve("f.txt"), secret);
        Operations operations = new Operations(WorkspaceProviders.open("local", Map.of("root",
                tmp.resolve("ws").toString(), "cache_dir", tmp.resolve("cache").toString(), "isolation", isolation)),
                WorkspaceConfig.builder("race").setupScript("mkdir -p real && echo inside > real/f.txt").build(),
                new Redactor());
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try (HttpApiServer server = HttpApiServer.builder(operations).port(0).start()) {
            ApiClient api = new ApiClient(server.uri(), null);
            String id = api.create("{}");
            Path root = Path.of(api.ok("GET", "/workspaces/" + id, null).get("root").asText());
            // the attacker: x is a directory inside, then a link to the outside directory, and so on
            Future<?> swapper = pool.submit(() -> {
                Path x = root.resolve("x");
                Path link = root.resolve("x.link");
                Path dir = root.resolve("x.dir");
                int n = 0;
                while (!stop.get()) {
                    try {
                        if (n++ % 2 == 0) {
                            Files.deleteIfExists(link);
                            Files.createSymbolicLink(link, outside);
                            if (Files.isDirectory(x, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                                Path old = root.resolve("x.old" + n);
                                Files.move(x, old, StandardCopyOption.ATOMIC_MOVE);
                                Files.move(link, x, StandardCopyOption.ATOMIC_MOVE);
                                FileTrees.deleteQuietly(old);
                            } else {
                                Files.move(link, x, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                            }
                        } else {
                            FileTrees.deleteQuietly(dir);
                            Files.createDirectories(dir);
                            Files.writeString(dir.resolve("f.txt"), "inside");
                            Files.deleteIfExists(x);
                            Files.move(dir, x, StandardCopyOption.ATOMIC_MOVE);
                        }
                    } catch (Exception e) {
                        // a lost race with the API (x was being used): go on swapping
                    }
                }
                return null;
            });
            AtomicInteger done = new AtomicInteger();
            AtomicInteger insideReads = new AtomicInteger();
            AtomicInteger refusedReads = new AtomicInteger();
            List<String> escapes = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Future<?>> hammers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                hammers.add(pool.submit(() -> {
                    while (done.get() < rounds && escapes.isEmpty()) {
                        int n = done.incrementAndGet();
                        switch (n % 3) {
                            case 0 -> {
                                HttpResponse<byte[]> r = api.send("POST", "/workspaces/" + id + "/read_file",
                                        "{\"path\":\"x/f.txt\"}");
                                String text = new String(r.body(), StandardCharsets.UTF_8);
                                if (text.contains(secret)) {
                                    escapes.add("read_file x/f.txt returned the outside file (round " + n + ")");
                                } else if (r.statusCode() == 200 && text.startsWith("inside")) {
                                    insideReads.incrementAndGet();
                                } else {
                                    refusedReads.incrementAndGet();
                                }
                            }
                            case 1 -> {
                                String name = "w" + thread + ".txt";
                                api.send("POST", "/workspaces/" + id + "/write_file", "{\"path\":\"x/" + name
                                        + "\",\"content\":\"" + Base64.getEncoder().encodeToString("w".getBytes()) + "\"}");
                                if (Files.exists(outside.resolve(name))) {
                                    escapes.add("write_file x/" + name + " wrote outside the workspace (round " + n + ")");
                                }
                            }
                            default -> {
                                HttpResponse<byte[]> r = api.send("POST", "/workspaces/" + id + "/list_files",
                                        "{\"path\":\"x\"}");
                                if (r.statusCode() == 200) {
                                    JsonNode entries = ApiClient.json(r).get("entries");
                                    for (JsonNode e : entries) {
                                        if (e.get("name").asText().startsWith("w") && Files.exists(outside.resolve(e.get("name").asText()))) {
                                            escapes.add("list_files x listed the outside directory (round " + n + ")");
                                        }
                                    }
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> h : hammers) {
                h.get(14, TimeUnit.MINUTES);
            }
            stop.set(true);
            swapper.get(1, TimeUnit.MINUTES);
            System.out.println("[race] isolation=" + isolation + ": " + done.get() + " rounds of read_file/write_file/list_files against a link"
                    + " swapped in a tight loop: " + escapes.size() + " escapes (reads: " + insideReads.get()
                    + " saw the inside file, " + refusedReads.get() + " were refused while x was the outside link)");
            escapes.stream().limit(5).forEach(e -> System.out.println("[race] ESCAPE " + e));
            assertThat(done.get()).isGreaterThanOrEqualTo(rounds);
            assertThat(escapes).isEmpty();
            // the swap really raced the API: both states were seen
            assertThat(insideReads.get()).isPositive();
            assertThat(refusedReads.get()).isPositive();
            try (var s = Files.list(outside)) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("f.txt");
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
            operations.close();
            FileTrees.deleteQuietly(tmp);
        }
    }
}
