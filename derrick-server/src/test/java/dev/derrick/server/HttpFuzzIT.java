package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.FileTrees;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import dev.derrick.server.internal.http.Route;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random and mutated bodies against every route of the real HTTP server over the {@code local} provider (sandboxed,
 * with a cache so reset and checkpoints work): no answer may be a 5xx, every answer is JSON or the file bytes asked
 * for, and the server is healthy after. Prints the status histogram.
 *
 * <p>CI sends {@value #CI_BODIES} bodies; the full run is
 * {@code ./mvnw -B -o -pl derrick-server -am verify -Dit.test=HttpFuzzIT -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dderrick.fuzz.bodies=10000}
 * ({@code -Dderrick.fuzz.seed=n} replays a run).
 */
@Timeout(value = 60, unit = TimeUnit.MINUTES)
class HttpFuzzIT {
    static final int CI_BODIES = 1500;
    private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

    private Path tmp;
    private Operations operations;
    private HttpApiServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (operations != null) {
            operations.close();
        }
        if (tmp != null) {
            FileTrees.deleteQuietly(tmp);
        }
    }

    @Test
    void noBodyMakesTheServerAnswer5xxOrFall() throws Exception {
        int bodies = Integer.getInteger("derrick.fuzz.bodies", CI_BODIES);
        long seed = Long.getLong("derrick.fuzz.seed", System.nanoTime());
        Random random = new Random(seed);
        tmp = Files.createTempDirectory("derrick-fuzz-");
        operations = new Operations(WorkspaceProviders.open("local", Map.of("root", tmp.resolve("ws").toString(),
                "cache_dir", tmp.resolve("cache").toString(), "default_timeout", "5", "setup_timeout", "10",
                "max_output_bytes", "65536")),
                WorkspaceConfig.builder("fuzz").setupScript("echo ready > setup.txt").build(), new Redactor());
        server = HttpApiServer.builder(operations).port(0).start();
        ApiClient api = new ApiClient(server.uri(), null);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        List<String> ids = new ArrayList<>();
        List<String> pids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(api.create("{}"));
            // a background process that ends at once: process routes get a real id, and a wait never blocks long
            HttpResponse<byte[]> bg = api.send("POST", "/workspaces/" + ids.get(i) + "/cmd",
                    "{\"cmd\":\"printf bg\",\"background\":true}");
            pids.add(bg.statusCode() == 200 ? ApiClient.json(bg).get("pid").asText() : "p-" + i);
        }
        Map<Integer, Integer> histogram = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        int created = 0;
        int notSupported = 0;
        String previous = "";
        for (int n = 0; n < bodies; n++) {
            Route route = Route.ALL.get(random.nextInt(Route.ALL.size()));
            String id = random.nextInt(10) == 0 ? Mutations.garbageId(random) : ids.get(random.nextInt(ids.size()));
            String pid = random.nextInt(5) == 0 ? Mutations.garbageId(random) : pids.get(random.nextInt(pids.size()));
            String path = route.template().replace("{id}", id).replace("{pid}", pid);
            String method = random.nextInt(12) == 0 ? METHODS[random.nextInt(METHODS.length)] : route.method();
            byte[] body = Mutations.body(random, route);
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.uri() + path))
                    .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json");
            if (random.nextInt(20) == 0) {
                request.header("Accept", "application/x-ndjson");
            }
            request.method(method, body.length == 0 && random.nextBoolean() ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
            HttpResponse<byte[]> response;
            try {
                response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            } catch (java.io.IOException e) {
                failures.add(method + " " + path + " " + Mutations.show(body) + " -> " + e + " (previous request: "
                        + previous + ")");
                previous = method + " " + path + " -> " + e;
                continue;
            }
            previous = method + " " + path + " " + Mutations.show(body) + " -> " + response.statusCode() + " "
                    + response.headers().map();
            int status = response.statusCode();
            histogram.merge(status, 1, Integer::sum);
            String contentType = response.headers().firstValue("Content-Type").orElse("");
            // 501: the provider does not implement that operation (an answer, not a fault); counted apart
            if (status == 501) {
                notSupported++;
            } else if (status >= 500 || (status != 200 && !method.equals("HEAD") && !contentType.startsWith("application/json"))) {
                failures.add(method + " " + path + " " + Mutations.show(body) + " -> " + status + " "
                        + new String(response.body(), StandardCharsets.UTF_8));
            }
            // keep the workspace pool: a fuzzed create that worked is removed, a deleted pool member replaced
            if (status == 200 && route.template().equals("/workspaces") && method.equals("POST")) {
                JsonNode json = ApiClient.json(response);
                api.send("DELETE", "/workspaces/" + json.get("id").asText(), null);
                created++;
            }
            if (status == 200 && method.equals("DELETE") && ids.contains(id)) {
                ids.set(ids.indexOf(id), api.create("{}"));
            }
        }
        System.out.println("[fuzz] " + bodies + " bodies (seed " + seed + ") to " + Route.ALL.size()
                + " routes; status histogram " + histogram + "; fuzzed creates that succeeded: " + created
                + "; of them 501 not_supported (the provider lacks the operation): " + notSupported
                + "; 5xx (but 501) or non-JSON answers: " + failures.size());
        failures.stream().limit(20).forEach(f -> System.out.println("[fuzz] FAIL " + f));
        assertThat(failures).as("5xx or non-JSON answers (seed %d)", seed).isEmpty();
        assertThat(api.ok("GET", "/health", null).get("healthy").asBoolean()).isTrue();
        String fresh = api.create("{}");
        assertThat(api.cmd(fresh, "cat setup.txt").get("output").asText()).isEqualTo("ready\n");
        assertThat(histogram.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(bodies);
    }
}
