package dev.derrick.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The attacker's HTTP server: records every request head it receives (and up to 64 KiB of each body) and answers
 * {@code 401} with {@code WWW-Authenticate: Basic}, the answer that makes a git client send its credentials. A test
 * counts the {@code Authorization} headers that arrived and greps the bytes for secrets.
 */
public final class RecordingListener implements AutoCloseable {
    private final ServerSocket socket;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final Thread acceptor;
    private final String redirectTo;

    /** A listener answering 401 to everything. */
    public RecordingListener() throws IOException {
        this(null);
    }

    /** A listener answering {@code 302 Location: redirectTo + path} to everything (a git host redirecting away). */
    public RecordingListener(String redirectTo) throws IOException {
        this.redirectTo = redirectTo;
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::accept, "attacker-listener");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return socket.getLocalPort();
    }

    /** A URL on this listener, with {@code host} as the host name (e.g. {@code localhost} against 127.0.0.1). */
    public String url(String host, String path) {
        return "http://" + host + ":" + port() + path;
    }

    private void accept() {
        while (!socket.isClosed()) {
            try (Socket s = socket.accept()) {
                s.setSoTimeout(5000);
                String head = readHead(s.getInputStream());
                requests.add(head);
                OutputStream out = s.getOutputStream();
                String path = head.isEmpty() ? "/" : head.split(" ", 3).length > 1 ? head.split(" ", 3)[1] : "/";
                String answer = redirectTo == null
                        ? "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n"
                        : "HTTP/1.1 302 Found\r\nLocation: " + redirectTo + path + "\r\n";
                out.write((answer + "Content-Length: 0\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // closed, or a client that went away
            }
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && got.size() < 65536) {
            got.write(c);
            String text = got.toString(StandardCharsets.ISO_8859_1);
            if (text.endsWith("\r\n\r\n")) {
                break;
            }
        }
        return got.toString(StandardCharsets.ISO_8859_1);
    }

    /** Every request head received so far. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** How many requests carried an {@code Authorization} header. */
    public long authorizationHeaders() {
        return requests.stream().filter(r -> r.toLowerCase(Locale.ROOT).contains("\nauthorization:")).count();
    }

    /** Whether any received byte sequence contains {@code secret} (also base64 of {@code user:secret} forms). */
    public boolean received(String secret) {
        return requests.stream().anyMatch(r -> r.contains(secret) || decodedBasic(r).contains(secret));
    }

    private static String decodedBasic(String head) {
        StringBuilder all = new StringBuilder();
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("authorization: basic ")) {
                try {
                    all.append(new String(java.util.Base64.getDecoder().decode(line.substring(21).trim()),
                            StandardCharsets.UTF_8));
                } catch (IllegalArgumentException ignored) {
                    all.append(line);
                }
            }
        }
        return all.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
