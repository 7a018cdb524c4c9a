package dev.derrick.remote;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code remote_http}'s side of streamed command output against a server that misbehaves in ways the real one does
 * not (the real one is driven by derrick-server's {@code RemoteHttpProviderIT}): one that starts streaming and then
 * hangs, and one that ends the stream without a result.
 */
@Timeout(30)
class RemoteHttpStreamingTest {
    private HttpServer server;
    private ExecutorService pool;
    private final CountDownLatch release = new CountDownLatch(1);
    private volatile String mode = "hang";

    @BeforeEach
    void start() throws IOException {
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "stub-http");
            t.setDaemon(true);
            return t;
        });
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setExecutor(pool);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
        pool.shutdownNow();
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        ex.getRequestBody().readAllBytes();
        if (path.equals("/health")) {
            json(ex, "{\"healthy\":true}");
        } else if (path.equals("/workspaces")) {
            json(ex, "{\"id\":\"w1\"}");
        } else if (path.endsWith("/cmd_with_output")) {
            ex.getResponseHeaders().set("Content-Type", "application/x-ndjson");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            out.write("{\"stream\":\"stdout\",\"chunk\":\"first\\n\"}\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (mode.equals("hang")) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            ex.close();
        } else {
            json(ex, "true");
        }
    }

    private static void json(HttpExchange ex, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private WorkspaceProvider open() {
        return WorkspaceProviders.open("remote_http", Map.of("url", "http://127.0.0.1:" + server.getAddress().getPort(),
                "request_timeout", "1"));
    }

    @Test
    void aStreamThatStopsComingEndsAtTheDeadlineWithWhatArrived() {
        try (WorkspaceProvider p = open()) {
            Workspace ws = p.create(WorkspaceConfig.builder("stub").build());
            List<String> chunks = new CopyOnWriteArrayList<>();
            long start = System.nanoTime();
            assertThatThrownBy(() -> ws.exec(ExecRequest.of("x").withTimeout(Duration.ofSeconds(1)),
                    (stream, chunk) -> chunks.add(chunk)))
                    .isInstanceOf(ProviderUnavailableException.class)
                    .hasMessageContaining("in time").hasMessageContaining("1 output chunks");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(6));
            assertThat(chunks).containsExactly("first\n");
        }
    }

    @Test
    void aStreamWithoutAResultIsAClearError() {
        mode = "truncated";
        try (WorkspaceProvider p = open()) {
            Workspace ws = p.create(WorkspaceConfig.builder("stub").build());
            assertThatThrownBy(() -> ws.exec(ExecRequest.of("x"), (stream, chunk) -> { }))
                    .isInstanceOf(ProviderUnavailableException.class)
                    .hasMessageContaining("without a result");
        }
    }
}
