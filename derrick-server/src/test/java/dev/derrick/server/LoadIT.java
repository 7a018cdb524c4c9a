package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import dev.derrick.server.nats.Fleet;
import dev.derrick.tck.GitTestServer;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 16 workspaces × 100 mixed requests at once — commands with unique output, writes and reads checked by checksum,
 * fetch (the git server gets a new commit first: every fetch must bring it), reset (written files must be gone) —
 * through the HTTP server and through {@code remote_nats} with three agent processes, against the real
 * token-protected git server. Counts wrong answers (must be 0) and prints p50/p99 per operation.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class LoadIT {
    static final int WORKSPACES = 16;
    static final int REQUESTS = 100;
    static final String TOKEN = "load-token-" + UUID.randomUUID();
    static GitTestServer git;
    static String head;

    @BeforeAll
    static void gitServer() {
        git = GitTestServer.start(TOKEN);
        head = git.createRepository("app", Map.of("README.md", "v1\n"));
    }

    @AfterAll
    static void stopGit() {
        if (git != null) {
            git.close();
        }
    }

    static WorkspaceConfig config() {
        return WorkspaceConfig.builder("load")
                .repository(RepositoryConfig.of(git.url("app"), "app").withAuth(GitAuth.fromEnv("LOAD_TOKEN")))
                .setupScript("echo ready > setup.txt").build();
    }

    /** What the load runs against: the HTTP API or the Java API of a provider. */
    interface Target {
        String create();

        String cmd(String id, String command);

        void write(String id, String path, byte[] content);

        byte[] read(String id, String path);

        List<RepositoryFetch> fetch(String id);

        void reset(String id);

        void delete(String id);
    }

    @Test
    void throughHttp() throws Exception {
        Path tmp = Files.createTempDirectory("derrick-load-");
        Operations operations = new Operations(WorkspaceProviders.open("local", Map.of("root", tmp.resolve("ws").toString(),
                "cache_dir", tmp.resolve("cache").toString(), "environment", Map.of("LOAD_TOKEN", TOKEN,
                        "PATH", System.getenv("PATH")))), config(), new Redactor().add(TOKEN));
        try (HttpApiServer server = HttpApiServer.builder(operations).port(0).start()) {
            ApiClient api = new ApiClient(server.uri(), null);
            run("http", new Target() {
                public String create() {
                    return api.create("{}");
                }

                public String cmd(String id, String command) {
                    return api.cmd(id, command).get("output").asText();
                }

                public void write(String id, String path, byte[] content) {
                    api.ok("POST", "/workspaces/" + id + "/write_file", "{\"path\":" + ApiClient.quote(path)
                            + ",\"content\":\"" + Base64.getEncoder().encodeToString(content) + "\"}");
                }

                public byte[] read(String id, String path) {
                    HttpResponse<byte[]> r = api.send("POST", "/workspaces/" + id + "/read_file",
                            "{\"path\":" + ApiClient.quote(path) + "}");
                    if (r.statusCode() != 200) {
                        throw new AssertionError("read_file " + r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8));
                    }
                    return r.body();
                }

                public List<RepositoryFetch> fetch(String id) {
                    JsonNode reply = api.ok("POST", "/workspaces/" + id + "/fetch", "{}");
                    List<RepositoryFetch> out = new ArrayList<>();
                    reply.get("repositories").forEach(f -> out.add(new RepositoryFetch(f.get("path").asText(),
                            f.path("before").asText(null), f.path("after").asText(null), f.path("updated").asBoolean(),
                            f.path("status").asText(null))));
                    return out;
                }

                public void reset(String id) {
                    api.ok("POST", "/workspaces/" + id + "/reset", "{}");
                }

                public void delete(String id) {
                    api.ok("DELETE", "/workspaces/" + id, null);
                }
            });
        } finally {
            operations.close();
            FileTrees.deleteQuietly(tmp);
        }
    }

    @Test
    void throughRemoteNatsWithThreeAgents() throws Exception {
        try (NatsTestServer nats = NatsTestServer.start();
             Fleet fleet = new Fleet(nats.url(), "load")
                     .agent("l1", 10, Map.of("LOAD_TOKEN", TOKEN), List.of("--token-host", "LOAD_TOKEN=127.0.0.1"))
                     .agent("l2", 10, Map.of("LOAD_TOKEN", TOKEN), List.of("--token-host", "LOAD_TOKEN=127.0.0.1"))
                     .agent("l3", 10, Map.of("LOAD_TOKEN", TOKEN), List.of("--token-host", "LOAD_TOKEN=127.0.0.1"));
             WorkspaceProvider provider = WorkspaceProviders.open("remote_nats", Map.of("nats_url", nats.url(),
                     "prefix", fleet.prefix(), "request_timeout", "120"))) {
            // the agents apply the token policy to the configs they receive (--token-host on their command line)
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> provider.create(WorkspaceConfig.builder("evil")
                            .repository(RepositoryConfig.of(git.url("app"), "app").withAuth(GitAuth.fromEnv("AWS_SECRET_ACCESS_KEY")))
                            .build()))
                    .isInstanceOf(dev.derrick.api.InvalidConfigException.class)
                    .hasMessageContaining("--token-host AWS_SECRET_ACCESS_KEY=127.0.0.1");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> provider.create(WorkspaceConfig.builder("evil")
                            .repository(RepositoryConfig.of(git.url("app").replace("127.0.0.1", "localhost"), "app")
                                    .withAuth(GitAuth.fromEnv("LOAD_TOKEN"))).build()))
                    .isInstanceOf(dev.derrick.api.InvalidConfigException.class)
                    .hasMessageContaining("--token-host LOAD_TOKEN=localhost");
            Map<String, Workspace> open = Collections.synchronizedMap(new HashMap<>());
            run("remote_nats", new Target() {
                public String create() {
                    Workspace ws = provider.create(config());
                    open.put(ws.id(), ws);
                    return ws.id();
                }

                public String cmd(String id, String command) {
                    return open.get(id).exec(ExecRequest.of(command)).output();
                }

                public void write(String id, String path, byte[] content) {
                    open.get(id).writeFile(path, content);
                }

                public byte[] read(String id, String path) {
                    return open.get(id).readFile(path);
                }

                public List<RepositoryFetch> fetch(String id) {
                    return open.get(id).fetch();
                }

                public void reset(String id) {
                    open.get(id).reset();
                }

                public void delete(String id) {
                    open.remove(id).close();
                }
            });
        }
    }

    private static void run(String name, Target target) throws Exception {
        List<String> ids = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(WORKSPACES);
        try {
            List<Future<String>> creates = new ArrayList<>();
            for (int i = 0; i < WORKSPACES; i++) {
                creates.add(pool.submit(target::create));
            }
            for (Future<String> f : creates) {
                ids.add(f.get(5, TimeUnit.MINUTES));
            }
            String newHead = git.commit("app", Map.of("README.md", "v2 " + UUID.randomUUID() + "\n"), "v2");
            Latencies latencies = new Latencies();
            AtomicInteger wrong = new AtomicInteger();
            List<String> problems = Collections.synchronizedList(new ArrayList<>());
            List<Future<?>> runs = new ArrayList<>();
            for (int w = 0; w < WORKSPACES; w++) {
                String id = ids.get(w);
                long seed = w;
                runs.add(pool.submit(() -> session(target, id, new Random(seed), newHead, latencies, wrong, problems)));
            }
            for (Future<?> f : runs) {
                f.get(10, TimeUnit.MINUTES);
            }
            System.out.println("[load] " + name + ": " + WORKSPACES + " workspaces x " + REQUESTS + " requests = "
                    + latencies.count() + " requests, wrong answers: " + wrong.get() + "; " + latencies.summary());
            problems.stream().limit(10).forEach(p -> System.out.println("[load] WRONG " + p));
            assertThat(latencies.count()).isEqualTo(WORKSPACES * REQUESTS);
            assertThat(wrong.get()).as("wrong answers: %s", problems).isZero();
        } finally {
            for (String id : ids) {
                try {
                    target.delete(id);
                } catch (RuntimeException e) {
                    System.out.println("[load] delete " + id + ": " + e);
                }
            }
            pool.shutdownNow();
        }
    }

    private static void session(Target target, String id, Random random, String newHead, Latencies latencies,
                                AtomicInteger wrong, List<String> problems) {
        Map<String, String> written = new HashMap<>();   // path -> sha256 of what was written
        for (int n = 0; n < REQUESTS; n++) {
            int pick = random.nextInt(100);
            String op = pick < 40 ? "cmd" : pick < 65 ? "write" : pick < 90 ? "read" : pick < 95 ? "fetch" : "reset";
            if (op.equals("read") && written.isEmpty()) {
                op = "write";
            }
            long start = System.nanoTime();
            try {
                switch (op) {
                    case "cmd" -> {
                        String unique = UUID.randomUUID().toString();
                        String out = target.cmd(id, "echo " + unique + "; cat setup.txt");
                        check(out.equals(unique + "\nready\n"), "cmd on " + id + " answered " + out, wrong, problems);
                    }
                    case "write" -> {
                        byte[] content = new byte[1 + random.nextInt(64 * 1024)];
                        random.nextBytes(content);
                        String path = "data/f" + random.nextInt(8) + ".bin";
                        target.write(id, path, content);
                        written.put(path, sha256(content));
                    }
                    case "read" -> {
                        List<String> paths = new ArrayList<>(written.keySet());
                        Collections.sort(paths);
                        String path = paths.get(random.nextInt(paths.size()));
                        String got = sha256(target.read(id, path));
                        check(got.equals(written.get(path)), "read " + path + " of " + id + ": checksum differs",
                                wrong, problems);
                    }
                    case "fetch" -> {
                        List<RepositoryFetch> fetched = target.fetch(id);
                        check(fetched.size() == 1 && newHead.equals(fetched.get(0).after()),
                                "fetch of " + id + " answered " + fetched + ", want " + newHead, wrong, problems);
                    }
                    default -> {
                        target.reset(id);
                        String out = target.cmd(id, "cat setup.txt; ls data 2>/dev/null | wc -l");
                        check(out.equals("ready\n0\n"), "after reset " + id + " has " + out, wrong, problems);
                        written.clear();
                    }
                }
            } catch (RuntimeException | AssertionError e) {
                check(false, op + " on " + id + " failed: " + e, wrong, problems);
            }
            latencies.add(op, System.nanoTime() - start);
        }
    }

    private static void check(boolean ok, String what, AtomicInteger wrong, List<String> problems) {
        if (!ok) {
            wrong.incrementAndGet();
            problems.add(what);
        }
    }

    static String sha256(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Latencies per operation kind; medians and 99th percentiles in ms. */
    static final class Latencies {
        private final Map<String, List<Long>> byOp = new java.util.TreeMap<>();

        synchronized void add(String op, long nanos) {
            byOp.computeIfAbsent(op, k -> new ArrayList<>()).add(nanos);
            byOp.computeIfAbsent("all", k -> new ArrayList<>()).add(nanos);
        }

        synchronized int count() {
            return byOp.getOrDefault("all", List.of()).size();
        }

        synchronized String summary() {
            StringBuilder b = new StringBuilder();
            byOp.forEach((op, list) -> {
                List<Long> sorted = new ArrayList<>(list);
                Collections.sort(sorted);
                b.append(op).append(" n=").append(sorted.size()).append(" p50=")
                        .append(ms(sorted.get(sorted.size() / 2))).append(" ms p99=")
                        .append(ms(sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1))))
                        .append(" ms; ");
            });
            return b.toString();
        }

        private static String ms(long nanos) {
            return String.format(java.util.Locale.ROOT, "%.1f", nanos / 1e6);
        }
    }
}
