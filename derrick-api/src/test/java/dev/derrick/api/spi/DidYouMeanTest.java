package dev.derrick.api.spi;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DidYouMeanTest {
    private static final List<String> FIELDS = List.of("name", "url", "path", "reference", "auth");
    private static final List<String> PROVIDERS = List.of("docker", "local", "remote_http", "remote_nats");

    @Test
    void typosGetTheClosestName() {
        assertThat(DidYouMean.closest("refrence", FIELDS)).contains("reference");
        assertThat(DidYouMean.closest("lcoal", PROVIDERS)).contains("local");
        assertThat(DidYouMean.closest("dokcer", PROVIDERS)).contains("docker");
        assertThat(DidYouMean.closest("remote-nats", PROVIDERS)).contains("remote_nats");
        assertThat(DidYouMean.closest("URL", FIELDS)).contains("url");
        assertThat(DidYouMean.hint("refrence", FIELDS)).isEqualTo(" (did you mean 'reference'?)");
    }

    @Test
    void unrelatedWordsGetNoGuess() {
        assertThat(DidYouMean.closest("kubernetes", PROVIDERS)).isEmpty();
        assertThat(DidYouMean.closest("colour", FIELDS)).isEmpty();
        assertThat(DidYouMean.hint("xyz", FIELDS)).isEmpty();
        assertThat(DidYouMean.closest(null, FIELDS)).isEmpty();
    }

    @Test
    void distanceCountsASwapOnce() {
        assertThat(DidYouMean.distance("lcoal", "local")).isEqualTo(1);
        assertThat(DidYouMean.distance("abc", "abc")).isZero();
        assertThat(DidYouMean.distance("", "abc")).isEqualTo(3);
    }
}
