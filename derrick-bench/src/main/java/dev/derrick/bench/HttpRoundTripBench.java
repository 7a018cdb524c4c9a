package dev.derrick.bench;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.server.EmbeddedHttpServer;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Round trip of {@code true} through the HTTP API ({@code POST /workspaces/{id}/cmd_with_output} on 127.0.0.1,
 * java.net.http client, keep-alive) against the same command through the library ({@code Workspace.exec}), on one
 * workspace, in one run, alternating blocks so drift hits both equally.
 *
 * <pre>
 * java -cp … dev.derrick.bench.HttpRoundTripBench [provider=local] [runs=300]
 * </pre>
 */
public final class HttpRoundTripBench {
    private HttpRoundTripBench() {
    }

    public static void main(String[] args) throws Exception {
        String providerName = args.length > 0 ? args[0] : "local";
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 300;
        int warmup = 50;
        int block = 25;
        try (WorkspaceProvider provider = WorkspaceProviders.open(providerName);
             EmbeddedHttpServer server = EmbeddedHttpServer.start(provider)) {
            Workspace ws = provider.create(WorkspaceConfig.builder("bench").build());
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpRequest request = HttpRequest.newBuilder(URI.create(server.uri() + "/workspaces/" + ws.id() + "/cmd_with_output"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"cmd\":\"true\"}")).timeout(Duration.ofSeconds(30)).build();
            HttpRequest health = HttpRequest.newBuilder(URI.create(server.uri() + "/health")).timeout(Duration.ofSeconds(30)).build();
            Runnable healthCheck = () -> {
                try {
                    if (http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode() != 200) {
                        throw new IllegalStateException("unhealthy");
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            ExecRequest direct = ExecRequest.of("true");
            Runnable viaHttp = () -> {
                try {
                    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                    if (r.statusCode() != 200 || !r.body().contains("\"exit_code\":0")) {
                        throw new IllegalStateException("unexpected answer " + r.statusCode() + ": " + r.body());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            };
            Runnable viaLibrary = () -> {
                if (!ws.exec(direct).succeeded()) {
                    throw new IllegalStateException("true failed");
                }
            };
            for (int i = 0; i < warmup; i++) {
                viaHttp.run();
                viaLibrary.run();
            }
            Stats httpStats = new Stats("cmd_with_output `true` over HTTP (" + providerName + ")");
            Stats libStats = new Stats("Workspace.exec(`true`) in-process (" + providerName + ")");
            Stats healthStats = new Stats("GET /health over HTTP (transport alone)");
            for (int done = 0; done < runs; done += block) {
                for (int i = 0; i < block; i++) {
                    long t = System.nanoTime();
                    viaHttp.run();
                    httpStats.add(System.nanoTime() - t);
                }
                for (int i = 0; i < block; i++) {
                    long t = System.nanoTime();
                    viaLibrary.run();
                    libStats.add(System.nanoTime() - t);
                }
                for (int i = 0; i < block; i++) {
                    long t = System.nanoTime();
                    healthCheck.run();
                    healthStats.add(System.nanoTime() - t);
                }
            }
            System.out.println(httpStats.line());
            System.out.println(libStats.line());
            System.out.println(healthStats.line());
            System.out.println(Stats.ratio(httpStats, libStats));
            System.out.printf(java.util.Locale.ROOT, "HTTP overhead (median difference): %.3f ms%n",
                    httpStats.medianMillis() - libStats.medianMillis());
        }
    }
}
