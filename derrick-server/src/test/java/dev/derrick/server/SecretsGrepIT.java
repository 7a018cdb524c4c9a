package dev.derrick.server;

import dev.derrick.tck.GitTestServer;
import dev.derrick.tck.NatsTestServer;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A full session at DEBUG level through the whole stack — HTTP gateway ({@code -p remote_nats -s http}) → a
 * token-authenticated nats-server (trace log on) → agent ({@code -p local -s nats}) cloning from the
 * token-protected git server — then every log, every API answer, every NATS message (sniffed on {@code >}), every
 * file of the agent's cache and of the workspaces is grepped for every secret the session used (git token, API token,
 * NATS token; raw, base64 and in {@code user:token} Basic form). The count must be 0.
 */
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class SecretsGrepIT {
    private static final String GIT_TOKEN = "git-" + java.util.UUID.randomUUID();
    private static final String API_TOKEN = "api-" + java.util.UUID.randomUUID();
    private static final String NATS_TOKEN = "nats" + java.util.UUID.randomUUID().toString().replace("-", "");

    @TempDir
    Path dir;

    @Test
    void aDebugSessionLeavesNoSecretAnywhere() throws Exception {
        List<byte[]> seen = new ArrayList<>();       // everything to grep
        int[] filesGrepped = {0};
        List<String> natsMessages = new CopyOnWriteArrayList<>();
        try (GitTestServer git = GitTestServer.start(GIT_TOKEN);
             NatsTestServer nats = NatsTestServer.start("--auth", NATS_TOKEN, "-V")) {
            git.createRepository("app", Map.of("README.md", "hello\n"));
            String natsUrl = "nats://" + NATS_TOKEN + "@127.0.0.1:" + nats.port();
            String config = "{\"name\": \"secrets\", \"repositories\": [{\"url\": \"" + git.url("app") + "\","
                    + " \"path\": \"app\", \"auth\": {\"token_env\": \"GIT_TOKEN\"}}],"
                    + " \"setup_script\": \"env > setup-env.txt; git -C app config --list > git-config.txt || true\"}";
            Path configFile = Files.writeString(dir.resolve("config.json"), config);
            Path agentDir = Files.createDirectories(dir.resolve("agent"));
            Path gatewayDir = Files.createDirectories(dir.resolve("gateway"));

            Options sniff = new Options.Builder().server(nats.url()).token(NATS_TOKEN.toCharArray()).build();
            try (Connection sniffer = Nats.connect(sniff)) {
                Dispatcher d = sniffer.createDispatcher(m -> natsMessages.add(describe(m)));
                d.subscribe(">");
                sniffer.flush(Duration.ofSeconds(5));
                try (DerrickProcess agent = DerrickProcess.start(agentDir, Map.of("GIT_TOKEN", GIT_TOKEN),
                        List.of("-p", "local", "-s", "nats", "--nats-url", natsUrl, "--nats-prefix", "sec",
                                "--agent-id", "s1", "-w", configFile.toString(), "--log-level", "debug",
                                "--cache-dir", agentDir.resolve("cache").toString()), -1)) {
                    awaitLog(agent, "serving");
                    int port = DerrickProcess.freePort();
                    try (DerrickProcess gateway = DerrickProcess.start(gatewayDir, Map.of("DERRICK_API_TOKEN", API_TOKEN),
                            List.of("-p", "remote_nats", "-s", "http", "--nats-url", natsUrl, "--nats-prefix", "sec",
                                    "-w", configFile.toString(), "--port", String.valueOf(port), "--log-level", "debug"),
                            port).awaitHealthy(Duration.ofSeconds(60))) {
                        ApiClient api = new ApiClient(gateway.uri(), API_TOKEN);
                        String id = session(api, seen);
                        // the workspace's files (and the cache's), while the workspace exists
                        filesGrepped[0] = walk(agentDir, seen);
                        keep(seen, api.send("DELETE", "/workspaces/" + id, null), 200);
                        assertThat(gateway.terminate(Duration.ofSeconds(60))).isZero();
                        seen.add(gateway.stderr().getBytes(StandardCharsets.UTF_8));
                        seen.add(gateway.stdout().getBytes(StandardCharsets.UTF_8));
                    }
                    sniffer.flush(Duration.ofSeconds(5));
                    agent.terminate(Duration.ofSeconds(60));
                    seen.add(agent.stderr().getBytes(StandardCharsets.UTF_8));
                    seen.add(agent.stdout().getBytes(StandardCharsets.UTF_8));
                }
            }
            // nats-server's trace shows message payloads (grepped for every secret) and its clients' CONNECT lines,
            // which carry the NATS token by the NATS protocol's design: that one is not grepped for in its own log
            String natsLog = nats.log();
            String natsLogWithoutConnect = natsLog.lines().filter(l -> !l.contains("[CONNECT "))
                    .collect(java.util.stream.Collectors.joining("\n"));
            seen.add(natsLogWithoutConnect.getBytes(StandardCharsets.UTF_8));
            natsMessages.forEach(m -> seen.add(m.getBytes(StandardCharsets.UTF_8)));
            assertThat(agentLog(seen)).contains("DEBUG");   // the session really ran at debug level
            assertThat(natsLog).as("nats-server traced the messages").contains("MSG_PAYLOAD");

            List<String> secrets = List.of(GIT_TOKEN, API_TOKEN, NATS_TOKEN);
            List<String> hits = new ArrayList<>();
            long bytes = 0;
            for (int i = 0; i < seen.size(); i++) {
                bytes += seen.get(i).length;
                hits.addAll(grep("stream " + i, seen.get(i), secrets));
            }
            int files = filesGrepped[0];
            System.out.println("[secrets] grepped " + files + " cache/workspace files, " + natsMessages.size()
                    + " NATS messages, the logs of gateway, agent and nats-server and every API answer (" + bytes
                    + " bytes) for " + secrets.size() + " secrets: " + hits.size() + " hits");
            hits.stream().limit(10).forEach(h -> System.out.println("[secrets] HIT " + h));
            assertThat(natsMessages).hasSizeGreaterThan(10);
            assertThat(hits).isEmpty();
        }
    }

    /** Reads every regular file under {@code root} (workspaces, cache, the agent's temp dir) into {@code seen}. */
    private static int walk(Path root, List<byte[]> seen) throws java.io.IOException {
        int n = 0;
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all.filter(f -> Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS))::iterator) {
                try {
                    seen.add(Files.readAllBytes(p));
                    n++;
                } catch (java.io.IOException unreadable) {
                    // a socket or a file gone meanwhile
                }
            }
        }
        return n;
    }

    private static String agentLog(List<byte[]> seen) {
        StringBuilder b = new StringBuilder();
        seen.forEach(x -> b.append(new String(x, StandardCharsets.UTF_8)));
        return b.toString();
    }

    /** Create, commands, files, fetch, reset, checkpoint/restore, refused attempts, delete; every answer kept. */
    private String session(ApiClient api, List<byte[]> seen) throws Exception {
        String id = keep(seen, api.send("POST", "/workspaces", "{}"), 200).path("id").asText();
        for (String cmd : new String[] {"cat app/README.md", "env", "cat setup-env.txt git-config.txt",
                "cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'", "git -C app remote -v", "ls -la / app/.git",
                "echo $GIT_TOKEN $DERRICK_API_TOKEN"}) {
            keep(seen, api.send("POST", "/workspaces/" + id + "/cmd_with_output", "{\"cmd\":" + ApiClient.quote(cmd) + "}"),
                    200);
        }
        keep(seen, api.send("POST", "/workspaces/" + id + "/write_file", "{\"path\":\"notes.txt\",\"content\":\"aGk=\"}"), 200);
        keepRaw(seen, api.send("POST", "/workspaces/" + id + "/read_file", "{\"path\":\"app/.git/config\"}"));
        keep(seen, api.send("POST", "/workspaces/" + id + "/list_files", "{\"path\":\"app\"}"), 200);
        keep(seen, api.send("GET", "/workspaces/" + id, null), 200);
        keep(seen, api.send("GET", "/workspaces", null), 200);
        keep(seen, api.send("POST", "/workspaces/" + id + "/fetch", "{}"), 200);
        String cp = keep(seen, api.send("POST", "/workspaces/" + id + "/checkpoint", "{}"), 200).path("checkpoint").asText();
        keep(seen, api.send("POST", "/workspaces/" + id + "/reset", "{}"), 200);
        keep(seen, api.send("POST", "/workspaces/" + id + "/restore", "{\"checkpoint\":" + ApiClient.quote(cp) + "}"), 200);
        // refused: other variables, the server's own secret, a wrong API token
        keep(seen, api.send("POST", "/workspaces", "{\"config\":{\"name\":\"x\",\"repositories\":[{\"url\":\"http://localhost:1/x.git\","
                + "\"path\":\"x\",\"auth\":{\"token_env\":\"GIT_TOKEN\"}}]}}"), 400);
        keep(seen, api.send("POST", "/workspaces", "{\"config\":{\"name\":\"x\",\"repositories\":[{\"url\":\"http://127.0.0.1:1/x.git\","
                + "\"path\":\"x\",\"auth\":{\"token_env\":\"DERRICK_API_TOKEN\"}}]}}"), 400);
        keep(seen, api.withToken("wrong").send("GET", "/workspaces", null), 401);
        return id;
    }

    private static com.fasterxml.jackson.databind.JsonNode keep(List<byte[]> seen, HttpResponse<byte[]> r, int status) {
        keepRaw(seen, r);
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(status);
        return ApiClient.json(r);
    }

    private static void keepRaw(List<byte[]> seen, HttpResponse<byte[]> r) {
        seen.add(r.body());
        seen.add(r.headers().map().toString().getBytes(StandardCharsets.UTF_8));
    }

    private static String describe(Message m) {
        StringBuilder b = new StringBuilder(m.getSubject()).append(' ').append(m.getReplyTo()).append(' ');
        if (m.getHeaders() != null) {
            m.getHeaders().entrySet().forEach(e -> b.append(e.getKey()).append('=').append(e.getValue()).append(' '));
        }
        return b.append(new String(m.getData(), StandardCharsets.ISO_8859_1)).toString();
    }

    private static List<String> grep(String where, byte[] haystack, List<String> secrets) {
        String text = new String(haystack, StandardCharsets.ISO_8859_1);
        List<String> hits = new ArrayList<>();
        for (String s : secrets) {
            for (String form : new String[] {s, b64(s), b64("x-access-token:" + s), b64(":" + s)}) {
                int at = text.indexOf(form);
                if (at >= 0) {
                    String context = text.substring(Math.max(0, at - 120), Math.min(text.length(), at + form.length() + 40))
                            .replace(form, "<SECRET>").replaceAll("\\p{Cntrl}", " ");
                    hits.add(where + " contains " + (form.equals(s) ? "" : "an encoded form of ") + s.substring(0, 4)
                            + "…: " + context);
                }
            }
        }
        return hits;
    }

    private static String b64(String s) {
        String full = Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
        return full.replace("=", "");
    }

    private static void awaitLog(DerrickProcess p, String text) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < until) {
            if (p.stderr().contains(text) || p.stdout().contains(text)) {
                return;
            }
            if (!p.process.isAlive()) {
                throw new AssertionError("exited: " + p.stderr());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' in: " + p.stderr());
    }
}
