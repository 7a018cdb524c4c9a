package dev.derrick.server.internal.nats;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class PartAssemblyTest {
    private final PartAssembly parts = new PartAssembly();

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void partsInOrderMakeTheBodyAndEachButTheLastIsAcknowledged() {
        PartAssembly.Step first = parts.receive("t", "0/3", b("ab"));
        assertThat(first.body()).isNull();
        assertThat(first.answer().status()).isEqualTo(202);
        assertThat(new String(first.answer().body(), StandardCharsets.UTF_8)).isEqualTo("{\"received\":0}");
        assertThat(parts.receive("t", "1/3", b("cd")).answer().status()).isEqualTo(202);
        PartAssembly.Step last = parts.receive("t", "2/3", b("e"));
        assertThat(last.answer()).isNull();
        assertThat(last.body()).isEqualTo(b("abcde"));
        // the transfer is gone: the same id starts afresh
        assertThat(parts.receive("t", "1/3", b("x")).answer().status()).isEqualTo(400);
    }

    @Test
    void aPartOutOfOrderOrABadHeaderIsRefused() {
        assertThat(parts.receive("t", "1/2", b("x")).answer().errorCode()).isEqualTo("invalid_request");
        assertThat(parts.receive("u", null, b("x")).answer().errorCode()).isEqualTo("invalid_request");
        assertThat(parts.receive("u", "7", b("x")).answer().errorCode()).isEqualTo("invalid_request");
    }

    @Test
    void expiryDropsUnfinishedTransfers() {
        assertThat(parts.receive("t", "0/2", b("a")).answer().status()).isEqualTo(202);
        parts.expire(System.nanoTime() + PartAssembly.TTL.toNanos() + 1);
        assertThat(parts.receive("t", "1/2", b("b")).answer().errorCode()).isEqualTo("invalid_request");
    }
}
