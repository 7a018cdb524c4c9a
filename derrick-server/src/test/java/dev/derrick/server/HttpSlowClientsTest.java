package dev.derrick.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.core.Redactor;
import dev.derrick.server.internal.Operations;
import dev.derrick.server.internal.http.HttpApiServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Slow and many clients against the real Jetty transport over real sockets (the test-only {@code testdir} backend
 * runs real processes): {@code /health} keeps answering while hundreds of connections trickle headers or bodies and
 * 64 long commands run, another client's operations are not starved by one client's, and silent connections are
 * closed by the idle timeout.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class HttpSlowClientsTest {
    /** Slow connections held open while /health is measured (half trickle headers, half bodies). */
    static final int SLOW_CONNECTIONS = 500;
    static final int LONG_COMMANDS = 64;

    private Operations operations;
    private HttpApiServer server;
    private final List<Socket> sockets = new ArrayList<>();

    private ApiClient start(Duration idleTimeout) throws Exception {
        operations = new Operations(WorkspaceProviders.open("testdir"), WorkspaceConfig.builder("t").build(),
                new Redactor());
        server = HttpApiServer.builder(operations).port(0).idleTimeout(idleTimeout).start();
        return new ApiClient(server.uri(), null);
    }

    @AfterEach
    void stop() {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        if (server != null) {
            server.close();
        }
        if (operations != null) {
            operations.close();
        }
    }

    @Test
    void healthAnswersWithinASecondUnderSlowClientsAndLongCommands() throws Exception {
        ApiClient api = start(Duration.ofSeconds(60));
        String busy = api.create("{}");
        String other = api.create("{}");
        List<Socket> slowBodies = new ArrayList<>();
        for (int i = 0; i < SLOW_CONNECTIONS; i++) {
            Socket s = connect(InetAddress.getLoopbackAddress());
            OutputStream out = s.getOutputStream();
            if (i % 2 == 0) {
                // headers never finished
                out.write(("POST /workspaces/" + other + "/cmd_with_output HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                        .getBytes(StandardCharsets.US_ASCII));
            } else {
                // headers done, body promised and never finished
                out.write(("POST /workspaces/" + other + "/cmd_with_output HTTP/1.1\r\nHost: localhost\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"cmd\":")
                        .getBytes(StandardCharsets.US_ASCII));
                slowBodies.add(s);
            }
            out.flush();
        }
        List<CompletableFuture<JsonNode>> longCommands = new ArrayList<>();
        for (int i = 0; i < LONG_COMMANDS; i++) {
            int n = i;
            longCommands.add(CompletableFuture.supplyAsync(() -> api.cmd(busy, "sleep 20; echo long-" + n)));
        }
        // wait until all 64 run (each has started its sleep)
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> countSleeps() >= LONG_COMMANDS);

        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            String reply = request(InetAddress.getLoopbackAddress(), "GET /health HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n", Duration.ofSeconds(5));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(reply).startsWith("HTTP/1.1 200").contains("\"healthy\":true");
            assertThat(took).as("/health with %d slow connections and %d long commands", SLOW_CONNECTIONS,
                    LONG_COMMANDS).isLessThan(Duration.ofSeconds(1));
        }
        // another client (127.0.0.2) is not starved: its command runs at once, besides the 64 of the first client
        String body = "{\"cmd\":\"echo from-another-client\"}";
        long t0 = System.nanoTime();
        String reply = request(InetAddress.getByName("127.0.0.2"), "POST /workspaces/" + other
                + "/cmd_with_output HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body, Duration.ofSeconds(10));
        assertThat(reply).startsWith("HTTP/1.1 200").contains("from-another-client");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        assertThat(longCommands).allMatch(f -> !f.isDone());

        // the slow connections were held, not dropped: finishing a body still gets its answer
        for (Socket s : slowBodies.subList(0, 5)) {
            String rest = "\"echo finally\"}";
            s.getOutputStream().write((rest + " ".repeat(40 - "{\"cmd\":".length() - rest.length()))
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String answer = readResponse(s, Duration.ofSeconds(30));
            assertThat(answer).startsWith("HTTP/1.1 200").contains("finally");
        }
        for (int i = 0; i < LONG_COMMANDS; i++) {
            assertThat(longCommands.get(i).get(60, TimeUnit.SECONDS).get("output").asText()).isEqualTo("long-" + i + "\n");
        }
    }

    @Test
    void silentConnectionsAreClosedByTheIdleTimeout() throws Exception {
        ApiClient api = start(Duration.ofSeconds(1));
        String id = api.create("{}");
        Socket headers = connect(InetAddress.getLoopbackAddress());
        headers.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
        Socket body = connect(InetAddress.getLoopbackAddress());
        body.getOutputStream().write(("POST /workspaces/" + id + "/cmd_with_output HTTP/1.1\r\nHost: x\r\n"
                + "Content-Length: 100\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
        long t0 = System.nanoTime();
        // slow headers: closed without an answer; slow body: a JSON 408 (or a plain close), never a hang
        assertThat(readResponse(headers, Duration.ofSeconds(10))).doesNotContain("200 OK");
        String slowBody = readResponse(body, Duration.ofSeconds(10));
        if (!slowBody.isEmpty()) {
            assertThat(slowBody).startsWith("HTTP/1.1 408").contains("\"error\":\"invalid_request\"");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
        assertThat(api.ok("GET", "/health", null).get("healthy").asBoolean()).isTrue();
        // the command never ran
        assertThat(api.cmd(id, "ls -A").get("output").asText()).isEmpty();
    }

    /** Processes of the long commands running now. */
    private static long countSleeps() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/sleep")).orElse(false)).count();
    }

    private Socket connect(InetAddress local) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(local, 0));
        s.connect(server.address(), 5000);
        synchronized (sockets) {
            sockets.add(s);
        }
        return s;
    }

    private String request(InetAddress local, String raw, Duration timeout) throws IOException {
        try (Socket s = connect(local)) {
            s.getOutputStream().write(raw.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            return readResponse(s, timeout);
        }
    }

    /** Everything the server sends until it closes or has sent the declared body; "" when it closed at once. */
    private static String readResponse(Socket s, Duration timeout) throws IOException {
        s.setSoTimeout((int) timeout.toMillis());
        InputStream in = s.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                got.write(buf, 0, n);
                if (complete(got.toString(StandardCharsets.UTF_8))) {
                    break;
                }
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no complete answer within " + timeout + "; got: " + got, e);
        } catch (java.net.SocketException reset) {
            // connection reset: what arrived before is the answer
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    private static boolean complete(String text) {
        int head = text.indexOf("\r\n\r\n");
        if (head < 0) {
            return false;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(text.substring(0, head));
        return m.find() && text.length() - head - 4 >= Integer.parseInt(m.group(1));
    }
}
